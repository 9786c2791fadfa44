"""Components compiled with the real kfp SDK, as the scheduler would hand them over; and the
check of Kubernetes objects against the API's schema and the official client's models."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kfp import compiler
from kubernetes.client import ApiClient

Compiled = tuple[dict[str, Any], dict[str, Any]]


def compile_component(component: Any, folder: Path) -> Compiled:
    """``(container spec, component spec)`` of a single compiled component."""
    path = folder / "component.yaml"
    compiler.Compiler().compile(component, str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    (definition,) = spec["components"].values()
    return executor["container"], definition


@pytest.fixture
def compiled(tmp_path: Path) -> Callable[[Any], Compiled]:
    return lambda component: compile_component(component, tmp_path)


# Kubernetes manifests -------------------------------------------------------------------

KUBERNETES_VERSION = "1.30.0"  # the API the installed `kubernetes` client (30.x) speaks
_MODELS = {"ConfigMap": "V1ConfigMap", "Service": "V1Service", "Job": "V1Job"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class _Body:
    """What ``ApiClient.deserialize`` reads: an API response's JSON body."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.data = json.dumps(obj)


def check_kubernetes_object(obj: dict[str, Any]) -> None:
    """``obj`` as the API server would take it, else AssertionError naming what is wrong:

    * the published OpenAPI schema of its kind (kubernetes-validate, strict: no unknown
      field, required fields present, types);
    * the official client's model: deserialised (client-side validation on) and serialised
      back to the same JSON, so no field is lost on the way;
    * what the schema leaves to the server: enums, names, labels, env names, volumes.
    """
    kind = obj["kind"]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.absolute_path)
        raise AssertionError(f"{kind} {where}: {error.message}") from None
    client = ApiClient()
    model = client.deserialize(_Body(obj), _MODELS[kind])
    assert client.sanitize_for_serialization(model) == obj, f"{kind}: fields lost in the model"
    meta = obj["metadata"]
    assert _DNS_LABEL.match(meta["name"]), meta["name"]
    assert len(meta["name"]) <= 63, meta["name"]
    assert meta["namespace"]
    for key, value in (meta.get("labels") or {}).items():
        assert _LABEL_VALUE.match(value), f"label {key}={value}"
        assert len(value) <= 63, f"label {key}={value}"
    if kind == "Service":
        assert meta["name"][0].isalpha(), "a Service name is a DNS-1035 label"
        assert obj["spec"].get("clusterIP") in (None, "None")
    if kind == "Job":
        spec = obj["spec"]
        assert spec.get("completionMode") in (None, "NonIndexed", "Indexed")
        _check_pod(spec["template"])


def _check_pod(template: dict[str, Any]) -> None:
    pod = template["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure"), "a Job's pods never restart Always"
    volumes = [v["name"] for v in pod.get("volumes") or []]
    assert len(volumes) == len(set(volumes)), f"volume names repeat: {volumes}"
    for toleration in pod.get("tolerations") or []:
        assert toleration.get("operator") in (None, "Equal", "Exists")
        assert toleration.get("effect") in (None, "NoSchedule", "PreferNoSchedule", "NoExecute")
    for container in [*(pod.get("initContainers") or []), *pod["containers"]]:
        assert _DNS_LABEL.match(container["name"])
        assert container.get("imagePullPolicy") in (None, "Always", "IfNotPresent", "Never")
        names = [e["name"] for e in container.get("env") or []]
        assert len(names) == len(set(names)), f"env names repeat: {names}"
        for env in container.get("env") or []:
            assert _ENV_NAME.match(env["name"]), env["name"]
            assert ("value" in env) != ("valueFrom" in env), env
            if "valueFrom" in env:
                assert len(env["valueFrom"]) == 1, env
        for mount in container.get("volumeMounts") or []:
            assert mount["name"] in volumes, f"mount of unknown volume {mount['name']}"
            assert mount["mountPath"].startswith("/")


@pytest.fixture
def check_kubernetes() -> Callable[[list[dict[str, Any]]], None]:
    """Checks every object of a list (PodGroups, custom resources, only for their shape)."""

    def check(objects: list[dict[str, Any]]) -> None:
        assert objects, "no objects"
        for obj in objects:
            if obj["kind"] == "PodGroup":
                assert obj["spec"]["minMember"] >= 1
                assert _DNS_LABEL.match(obj["metadata"]["name"])
                continue
            check_kubernetes_object(obj)

    return check
