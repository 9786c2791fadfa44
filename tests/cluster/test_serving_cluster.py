"""The serving service's Kubernetes data plane on a real cluster: runs only when
``KUBECONFIG`` is set (skipped otherwise), in ``HEADRACE_CLUSTER_NAMESPACE`` (default
``headrace-test``, created when absent). How to run it: docs/kubernetes.md.

* an InferenceService revision whose model-server image cannot be pulled fails with that
  reason;
* with ``HEADRACE_CLUSTER_MODEL_IMAGE`` (an image with ``headrace-model-server`` on its
  ``PATH``) and ``HEADRACE_CLUSTER_MODEL_URI`` (a model its pods can load, e.g. an ``s3://``
  URI with ``HEADRACE_SERVING_KUBERNETES_ENV_SECRET`` naming a Secret with the
  ``HEADRACE_S3_*`` credentials), a revision becomes ready from its pods' readiness probes;
* afterwards (the InferenceService deleted: its parent) nothing labelled
  ``app.kubernetes.io/managed-by=headrace`` is left of it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from headrace_serving import RevisionPlan, ServiceKey, Traffic
from headrace_serving.kubernetes import KubernetesFleet, ServingKubernetesSettings
from headrace_serving.kubernetes.api import connect

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        not os.environ.get("KUBECONFIG"),
        reason="needs a Kubernetes cluster: set KUBECONFIG (docs/kubernetes.md, "
        "'The real-cluster suite')",
    ),
]

NAMESPACE = os.environ.get("HEADRACE_CLUSTER_NAMESPACE", "headrace-test")
MODEL_IMAGE = os.environ.get("HEADRACE_CLUSTER_MODEL_IMAGE", "")
MODEL_URI = os.environ.get("HEADRACE_CLUSTER_MODEL_URI", "")
FINAL_SECONDS = 300


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []
        self.changed = asyncio.Event()

    def _add(self, kind: str, revision: str, value: Any) -> None:
        self.seen.append((kind, revision, value))
        self.changed.set()

    def revision_ready(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self._add("ready", revision, replicas)

    def revision_failed(self, key: ServiceKey, revision: str, reason: str) -> None:
        self._add("failed", revision, reason)

    def scaled(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self._add("scaled", revision, replicas)

    def logged(self, *args: Any) -> None:
        pass

    async def final(self, revision: str) -> tuple[str, str, Any]:
        async with asyncio.timeout(FINAL_SECONDS):
            while True:
                for event in self.seen:
                    if event[1] == revision and event[0] in ("ready", "failed"):
                        return event
                self.changed.clear()
                await self.changed.wait()


def _settings(image: str) -> ServingKubernetesSettings:
    return ServingKubernetesSettings(
        backend="kubernetes", image=image, namespace=NAMESPACE, watch_seconds=60
    )


@pytest.fixture
async def fleet_of() -> AsyncIterator[Callable[[str, Events], KubernetesFleet]]:
    made: list[KubernetesFleet] = []
    k8s = connect(_settings("unused"))
    await asyncio.to_thread(_ensure_namespace, k8s.core, NAMESPACE)

    def make(image: str, events: Events) -> KubernetesFleet:
        chosen = _settings(image)
        fleet = KubernetesFleet(events, chosen, connect(chosen))
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        await fleet.aclose()
    await asyncio.to_thread(_nothing_left, k8s)


def _ensure_namespace(core: Any, name: str) -> None:
    try:
        core.read_namespace(name)
    except ApiException as error:
        if error.status != 404:
            raise
        core.create_namespace({"metadata": {"name": name}})


def _nothing_left(k8s: Any) -> None:
    selector = "app.kubernetes.io/managed-by=headrace,headrace.io/inference-service"
    deadline = time.monotonic() + 120
    while True:
        left = [
            *(f"deployment/{d.metadata.name}" for d in k8s.apps.list_namespaced_deployment(
                NAMESPACE, label_selector=selector).items),
            *(f"hpa/{h.metadata.name}" for h in
              k8s.autoscaling.list_namespaced_horizontal_pod_autoscaler(
                  NAMESPACE, label_selector=selector).items),
            *(f"service/{s.metadata.name}" for s in k8s.core.list_namespaced_service(
                NAMESPACE, label_selector=selector).items),
            *(f"configmap/{c.metadata.name}" for c in k8s.core.list_namespaced_config_map(
                NAMESPACE, label_selector=selector).items),
            *(f"pod/{p.metadata.name}" for p in k8s.core.list_namespaced_pod(
                NAMESPACE, label_selector=selector).items),
        ]  # fmt: skip
        if not left:
            k8s.close()
            return
        if time.monotonic() > deadline:
            k8s.close()
            raise AssertionError(f"left in namespace {NAMESPACE}: {', '.join(left)}")
        time.sleep(2)  # the garbage collector works a little after the parent's delete


def _plan(name: str, uri: str) -> RevisionPlan:
    return RevisionPlan(
        name=name, model_name="cluster-iris", storage_uri=uri, model_format="sklearn"
    )


async def test_an_inference_service_whose_image_cannot_be_pulled_fails_so(
    fleet_of: Callable[[str, Events], KubernetesFleet],
) -> None:
    events = Events()
    fleet = fleet_of("registry.invalid/headrace/no-such-model-server:0", events)
    key = ServiceKey(NAMESPACE, "cluster-pull")
    await fleet.open_service(key)
    try:
        await fleet.start_revision(key, _plan("cluster-pull-predictor-00001", "/models/none"))
        kind, _, reason = await events.final("cluster-pull-predictor-00001")
        assert kind == "failed"
        assert "ImagePullBackOff" in reason or "ErrImagePull" in reason
    finally:
        await fleet.close_service(key)


@pytest.mark.skipif(
    bool(os.environ.get("KUBECONFIG")) and not (MODEL_IMAGE and MODEL_URI),
    reason="needs HEADRACE_CLUSTER_MODEL_IMAGE (an image with headrace-model-server) and "
    "HEADRACE_CLUSTER_MODEL_URI (a model its pods can load)",
)
async def test_an_inference_service_becomes_ready_from_its_pods_probes(
    fleet_of: Callable[[str, Events], KubernetesFleet],
) -> None:
    events = Events()
    fleet = fleet_of(MODEL_IMAGE, events)
    key = ServiceKey(NAMESPACE, "cluster-iris")
    revision = "cluster-iris-predictor-00001"
    await fleet.open_service(key)
    try:
        await fleet.start_revision(key, _plan(revision, MODEL_URI))
        await fleet.set_traffic(key, Traffic(stable=revision))
        kind, _, value = await events.final(revision)
        assert kind == "ready", value
        assert value >= 1
    finally:
        await fleet.close_service(key)
