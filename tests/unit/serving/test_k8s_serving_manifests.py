"""A revision as Kubernetes objects (Deployment, Service, HorizontalPodAutoscaler or KEDA
ScaledObject under the InferenceService's parent), checked against the API schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from headrace_serving.dataplane import RevisionPlan, ServiceKey
from headrace_serving.kubernetes import (
    ManifestRefused,
    ServingKubernetesSettings,
    revision_objects,
)
from headrace_serving.kubernetes.manifests import (
    ANNOTATION_REVISION,
    LABEL_MANAGED_BY,
    LABEL_REVISION,
    LABEL_SERVICE,
    PENDING_UID,
    service_selector,
)
from headrace_serving.revisions.process import server_args

Check = Callable[[list[dict[str, Any]]], None]
KEY = ServiceKey("team-a", "iris")
IMAGE = "ghcr.io/example/headrace-model-server:0.1"


def settings(**fields: Any) -> ServingKubernetesSettings:
    return ServingKubernetesSettings(backend="kubernetes", image=IMAGE, **fields)


def plan(**fields: Any) -> RevisionPlan:
    values: dict[str, Any] = {
        "name": "iris-predictor-00001",
        "model_name": "iris",
        "storage_uri": "models:/iris/3",
        "model_format": "sklearn",
        "model_version": "3",
        "min_replicas": 1,
        "max_replicas": 3,
        "scale_target": 4,
        "env": {"HEADRACE_NATS_URL": "nats://127.0.0.1:4222"},
        "namespace": "team-a",
        "requests": {"cpu": "500m"},
        "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"},
    }
    values.update(fields)
    return RevisionPlan(**values)


def test_a_revision_is_a_deployment_a_service_and_an_hpa_under_the_parent(
    check_kubernetes: Check,
) -> None:
    objects = revision_objects(KEY, plan(), settings(service_account="serving"))
    documents = objects.to_dicts()
    check_kubernetes(documents)
    assert [d["kind"] for d in documents] == [
        "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
    ]  # fmt: skip
    parent, deployment, service, hpa = documents
    assert parent["metadata"]["name"] == "headrace-isvc-iris"
    labels = {
        LABEL_MANAGED_BY: "headrace",
        LABEL_SERVICE: "iris",
        LABEL_REVISION: "iris-predictor-00001",
    }
    for child in objects.children:
        meta = child["metadata"]
        assert (meta["name"], meta["namespace"], meta["labels"]) == (
            "iris-predictor-00001", "team-a", labels,
        )  # fmt: skip
        assert meta["annotations"][ANNOTATION_REVISION] == "iris-predictor-00001"
        (owner,) = meta["ownerReferences"]
        assert owner == {
            "apiVersion": "v1", "kind": "ConfigMap", "name": "headrace-isvc-iris",
            "uid": PENDING_UID, "controller": True, "blockOwnerDeletion": True,
        }  # fmt: skip
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"]["matchLabels"] == labels
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "serving"
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["command"] == ["headrace-model-server"]
    assert container["args"] == server_args(plan(), "0.0.0.0", 8080)  # as a local replica's
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert container["resources"] == {
        "requests": {"cpu": "500m"},
        "limits": {"memory": "1Gi", "nvidia.com/gpu": "1"},
    }
    assert {"name": "HEADRACE_NATS_URL", "value": "nats://127.0.0.1:4222"} in container["env"]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == labels
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "iris-predictor-00001",
    }  # fmt: skip
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 3)
    assert (objects.host, objects.port) == ("iris-predictor-00001.team-a.svc", 8080)
    assert service_selector(KEY, settings()) == (
        "app.kubernetes.io/managed-by=headrace,headrace.io/inference-service=iris"
    )


def test_the_pods_get_the_cluster_side_settings(check_kubernetes: Check) -> None:
    objects = revision_objects(
        KEY,
        plan(requests={}, limits={}),
        settings(
            nats_url="nats://nats.headrace:4222",
            artifacts="s3://models",
            env_secret="headrace-s3",
        ),
    )
    check_kubernetes(objects.to_dicts())
    (container,) = objects.deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["HEADRACE_NATS_URL"] == "nats://nats.headrace:4222"
    assert env["HEADRACE_ARTIFACTS"] == "s3://models"
    assert container["envFrom"] == [{"secretRef": {"name": "headrace-s3"}}]
    assert "resources" not in container


def test_keda_makes_a_scaled_object_that_may_scale_to_zero(check_kubernetes: Check) -> None:
    keda = settings(
        keda=True,
        keda_prometheus="http://prometheus.monitoring:9090",
        keda_query='sum(in_flight{namespace="{namespace}",revision="{revision}"})',
    )
    objects = revision_objects(KEY, plan(min_replicas=0), keda)
    check_kubernetes(objects.to_dicts())
    scaler = objects.scaler
    assert scaler["kind"] == "ScaledObject"
    assert scaler["spec"]["minReplicaCount"] == 0
    assert scaler["spec"]["maxReplicaCount"] == 3
    (trigger,) = scaler["spec"]["triggers"]
    assert trigger == {
        "type": "prometheus",
        "metadata": {
            "serverAddress": "http://prometheus.monitoring:9090",
            "query": 'sum(in_flight{namespace="team-a",revision="iris-predictor-00001"})',
            "threshold": "4",
        },
    }
    assert objects.deployment["spec"]["replicas"] == 1  # starts with one, as locally


def test_what_cannot_run_is_refused_with_every_reason() -> None:
    with pytest.raises(ManifestRefused) as caught:
        revision_objects(
            KEY,
            plan(min_replicas=0, requests={"cpu": "lots"}, limits={"bad name!": "1"}),
            ServingKubernetesSettings(backend="kubernetes"),
        )
    message = str(caught.value)
    assert message.startswith(
        "revision iris-predictor-00001 of InferenceService team-a/iris cannot run on Kubernetes"
    )
    assert "HEADRACE_SERVING_KUBERNETES_IMAGE is not set" in message
    assert "spec.predictor.minReplicas 0 (scale to zero) needs KEDA on Kubernetes" in message
    assert "HEADRACE_SERVING_KUBERNETES_KEDA=true" in message
    assert "resources.requests.cpu: 'lots' is not a Kubernetes quantity" in message
    assert "'bad name!' is not a Kubernetes resource name" in message


def test_a_shared_namespace_and_long_names_stay_valid_and_distinct(
    check_kubernetes: Check,
) -> None:
    shared = settings(namespace="serving")
    long_name = "a" * 60
    key = ServiceKey("team-b", long_name)
    objects = revision_objects(key, plan(name=f"{long_name}-predictor-00001"), shared)
    check_kubernetes(objects.to_dicts())
    assert objects.namespace == "serving"
    other = revision_objects(
        ServiceKey("team-c", long_name), plan(name=f"{long_name}-predictor-00001"), shared
    )
    assert objects.deployment["metadata"]["name"] != other.deployment["metadata"]["name"]
    assert objects.parent["metadata"]["name"] != other.parent["metadata"]["name"]
    assert objects.deployment["metadata"]["name"].startswith("team-b-aaa")


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_BACKEND", "kubernetes")
    assert ServingKubernetesSettings().backend == "kubernetes"
    monkeypatch.setenv("HEADRACE_SERVING_BACKEND", "local")
    assert ServingKubernetesSettings().backend == "local"  # the serving service's own wins
    monkeypatch.setenv("HEADRACE_SERVING_KUBERNETES_KEDA", "true")
    with pytest.raises(ValueError, match="HEADRACE_SERVING_KUBERNETES_KEDA_PROMETHEUS"):
        ServingKubernetesSettings()
    monkeypatch.delenv("HEADRACE_SERVING_KUBERNETES_KEDA")
    with pytest.raises(ValueError, match="or set HEADRACE_SERVING_BACKEND=local to serve on"):
        ServingKubernetesSettings(backend="kubernetes").require_image()
    monkeypatch.setenv("HEADRACE_SERVING_KUBERNETES_NAMESPACE", "Bad_NS")
    with pytest.raises(ValueError, match="is not a Kubernetes namespace name"):
        ServingKubernetesSettings()
