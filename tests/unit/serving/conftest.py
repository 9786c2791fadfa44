"""The check of the serving data plane's Kubernetes objects against the API's schema and the
official client's models (as tests/unit/trainer/conftest.py does for the trainer's)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
from kubernetes.client import ApiClient

KUBERNETES_VERSION = "1.30.0"  # the API the installed `kubernetes` client (30.x) speaks
_MODELS = {
    "ConfigMap": "V1ConfigMap",
    "Service": "V1Service",
    "Deployment": "V1Deployment",
    "HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class _Body:
    def __init__(self, obj: dict[str, Any]) -> None:
        self.data = json.dumps(obj)


def _check_scaled_object(obj: dict[str, Any]) -> None:
    """KEDA's ScaledObject (a custom resource: no schema in the Kubernetes API)."""
    assert obj["apiVersion"] == "keda.sh/v1alpha1"
    spec = obj["spec"]
    assert set(spec) <= {"scaleTargetRef", "minReplicaCount", "maxReplicaCount", "triggers"}
    assert spec["scaleTargetRef"]["name"]
    assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    for trigger in spec["triggers"]:
        assert trigger["type"]
        assert all(isinstance(v, str) for v in trigger["metadata"].values())


def check_kubernetes_object(obj: dict[str, Any]) -> None:
    kind = obj["kind"]
    meta = obj["metadata"]
    assert _DNS_LABEL.match(meta["name"]), meta["name"]
    assert len(meta["name"]) <= 63, meta["name"]
    assert meta["namespace"]
    for key, value in (meta.get("labels") or {}).items():
        assert _LABEL_VALUE.match(value), f"label {key}={value}"
        assert len(value) <= 63, f"label {key}={value}"
    if kind == "ScaledObject":
        _check_scaled_object(obj)
        return
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.absolute_path)
        raise AssertionError(f"{kind} {where}: {error.message}") from None
    client = ApiClient()
    model = client.deserialize(_Body(obj), _MODELS[kind])
    assert client.sanitize_for_serialization(model) == obj, f"{kind}: fields lost in the model"
    if kind == "Service":
        assert meta["name"][0].isalpha(), "a Service name is a DNS-1035 label"
    if kind == "Deployment":
        spec = obj["spec"]
        selector = spec["selector"]["matchLabels"]
        labels = spec["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in selector.items()), "selector misses the pods"
        pod = spec["template"]["spec"]
        assert pod.get("restartPolicy") in (None, "Always")
        for container in pod["containers"]:
            assert _DNS_LABEL.match(container["name"])
            names = [e["name"] for e in container.get("env") or []]
            assert len(names) == len(set(names)), f"env names repeat: {names}"
            assert all(_ENV_NAME.match(n) for n in names)


@pytest.fixture
def check_kubernetes() -> Callable[[list[dict[str, Any]]], None]:
    def check(objects: list[dict[str, Any]]) -> None:
        assert objects, "no objects"
        for obj in objects:
            check_kubernetes_object(obj)

    return check
