"""The serving service with ``HEADRACE_SERVING_BACKEND=kubernetes``: the control plane, on a
real nats-server with the real registry, drives `KubernetesFleet` through the real client
against `FakeApiServer` (tests/fixtures/k8s_fake.py): apply -> a Deployment with the
predictor's resources -> Ready once it reports ready replicas; minReplicas 0 without KEDA ->
Failed saying why; delete -> the parent and everything it owns gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from k8s_fake import FakeApiServer
from serving_support import Platform

from headrace import Client
from headrace.serving import InferenceServiceFailedError
from headrace_serving.app import build as build_serving
from headrace_testing import nats_for_test, service_settings, wait_for

ISVC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {{name: {name}}}
spec:
  predictor:
    minReplicas: {min}
    maxReplicas: 2
    model:
      modelFormat: {{name: sklearn}}
      storageUri: /srv/models/iris.joblib
      resources: {{requests: {{cpu: 250m}}, limits: {{memory: 512Mi}}}}
"""


def until(predicate: Callable[[], bool], what: str) -> None:
    asyncio.run(wait_for(predicate, 15.0, what))


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    server = FakeApiServer(namespaces=("default",)).start()
    yield server
    server.close()


@pytest.fixture
def platform(
    fake: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    monkeypatch.setenv("HEADRACE_BACKEND", "kubernetes")  # serving follows the platform's
    monkeypatch.setenv("HEADRACE_SERVING_KUBERNETES_IMAGE", "model-server:1")
    monkeypatch.setenv(
        "HEADRACE_SERVING_KUBERNETES_KUBECONFIG", str(fake.kubeconfig(tmp_path / "kubeconfig"))
    )
    with nats_for_test(tmp_path) as nats:
        found = Platform(service_settings(tmp_path / "home", nats.url), real_fleet=True)
        try:
            yield found
        finally:
            found.stop()


def test_an_inference_service_runs_as_kubernetes_objects(
    fake: FakeApiServer, platform: Platform
) -> None:
    rev = "iris-predictor-00001"
    with Client(nats_url=platform.url, timeout=10.0) as client:
        client.apply_inference_services(ISVC.format(name="iris", min=1))
        until(lambda: rev in fake.named("horizontalpodautoscalers"), "the objects, HPA last")
        (container,) = fake.named("deployments")[rev]["spec"]["template"]["spec"]["containers"]
        assert container["resources"] == {
            "requests": {"cpu": "250m"},
            "limits": {"memory": "512Mi"},
        }
        assert set(fake.named("services")) == {rev}
        assert client.get_inference_service("iris").state == "Pending"
        fake.set_status("deployments", rev, {"replicas": 1, "readyReplicas": 1})
        ready = client.wait_inference_service("iris", timeout=15)
        assert [(r.name, r.state, r.ready_replicas) for r in ready.revisions] == [(rev, "Ready", 1)]
        assert ready.url.startswith("http://127.0.0.1:")  # the router, in the serving service

        client.apply_inference_services(ISVC.format(name="zero", min=0))
        with pytest.raises(InferenceServiceFailedError, match="needs KEDA on Kubernetes"):
            client.wait_inference_service("zero", timeout=15)

        client.delete_inference_service("iris")
        until(lambda: not fake.named("deployments"), "the objects deleted")
        assert "headrace-isvc-iris" not in fake.named("configmaps")
        assert fake.named("services") == fake.named("horizontalpodautoscalers") == {}


async def test_the_service_does_not_start_on_kubernetes_without_an_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_BACKEND", "kubernetes")
    monkeypatch.delenv("HEADRACE_SERVING_KUBERNETES_IMAGE", raising=False)
    with nats_for_test(tmp_path) as nats:
        service = build_serving(service_settings(tmp_path / "home", nats.url))
        try:
            with pytest.raises(ValueError, match="HEADRACE_SERVING_KUBERNETES_IMAGE is not set"):
                await service.start()
        finally:
            await service.stop()
