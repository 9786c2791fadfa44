"""`KubernetesFleet` through the real `kubernetes` client against `FakeApiServer`
(tests/fixtures/k8s_fake.py: a real HTTP server keeping the objects created, watching them
from a resourceVersion, garbage-collecting an owner's dependents, serving recorded pods)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from dataplane_support import V2, Recorder, iris_models, plan
from k8s_fake import FakeApiServer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from headrace_serving import FleetError, ServiceKey, Traffic
from headrace_serving.kubernetes import KubernetesFleet, ServingKubernetesSettings
from headrace_serving.kubernetes.api import connect
from headrace_serving.revisions.replica import Replica
from headrace_serving.router.upstream import UpstreamPool
from headrace_testing import wait_for

KEY = ServiceKey("default", "iris")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PROMOTED = "00f067aa0ba902b7"
REV = "iris-predictor-00001"
KINDS = ("configmaps", "deployments", "services", "horizontalpodautoscalers", "pods")
Make = Callable[..., KubernetesFleet]


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    server = FakeApiServer(namespaces=("default",)).start()
    yield server
    server.close()


@pytest_asyncio.fixture
async def make(fake: FakeApiServer, tmp_path: Path) -> AsyncIterator[Make]:
    kubeconfig = fake.kubeconfig(tmp_path / "kubeconfig")
    made: list[KubernetesFleet] = []

    def build(recorder: Recorder, **fields: Any) -> KubernetesFleet:
        clock = fields.pop("clock", time.time)
        tracer = fields.pop("tracer", None)
        traffic_interval = fields.pop("traffic_interval", None)
        settings = ServingKubernetesSettings(
            backend="kubernetes", image="model-server:1", kubeconfig=str(kubeconfig), **fields
        )
        fleet = KubernetesFleet(
            recorder, settings, connect(settings), cold_start_timeout=20, clock=clock,
            tracer=tracer, traffic_interval=traffic_interval,
        )  # fmt: skip
        made.append(fleet)
        return fleet

    yield build
    for fleet in made:
        await fleet.aclose()


def posts(fake: FakeApiServer, plural: str) -> int:
    return sum(1 for m, path, _ in fake.requests if m == "POST" and path.endswith(plural))


async def test_a_revision_becomes_ready_and_serves_through_its_service(
    fake: FakeApiServer, make: Make, tmp_path: Path
) -> None:
    recorder = Recorder()
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    fleet = make(recorder, tracer=provider.get_tracer("serving"), traffic_interval=0.2)
    url = await fleet.open_service(KEY)
    made = {"traceparent": f"00-{TRACE}-{PROMOTED}-01"}  # the handling of a ModelPromoted
    await fleet.start_revision(
        KEY, plan(REV, "models:/iris/3", max_replicas=3, model_version="3", trace_context=made)
    )
    await fleet.set_traffic(KEY, Traffic(stable=REV))
    parent = fake.named("configmaps")["headrace-isvc-iris"]
    for plural in ("deployments", "services", "horizontalpodautoscalers"):
        (obj,) = fake.named(plural).values()
        assert obj["metadata"]["name"] == REV
        assert obj["metadata"]["ownerReferences"][0]["uid"] == parent["metadata"]["uid"]
    fake.put_deployment_pod(REV, "pod-pending-initializing.json")
    fake.set_status("deployments", REV, {"replicas": 1, "readyReplicas": 0})
    fake.set_status("deployments", REV, {"replicas": 1, "readyReplicas": 1})
    await recorder.ready(REV)
    assert recorder.of("ready") == [("ready", KEY, REV, 1)]
    fake.set_status("deployments", REV, {"replicas": 2, "readyReplicas": 2})
    await recorder.wait_for(lambda: recorder.of("scaled"), what="scaled")
    assert recorder.of("scaled") == [("scaled", KEY, REV, 2)]
    (status,) = fleet.status(KEY)
    assert (status.state, status.replicas, status.ready_replicas) == ("Ready", 2, 2)

    # The router's upstream is the Service's cluster DNS name; it cannot resolve here, so a
    # real model server on this machine stands in for the Service.
    revision = fleet.revision(KEY, REV)
    assert revision is not None
    assert (revision.endpoint.host, revision.endpoint.port) == ("iris-predictor-00001.default.svc",
                                                                8080)  # fmt: skip
    model, _ = iris_models(tmp_path)
    server = Replica(REV, 1, "127.0.0.1", tmp_path / "server.log")
    assert await server.start(plan(REV, model), load_timeout=60) is None
    try:
        revision.endpoint.pool = UpstreamPool("127.0.0.1", server.port)
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(f"{url}/v2/models/iris/infer", json=V2)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-headrace-revision"] == REV
        # the router's traffic summary of the window: one request to the revision
        found = await recorder.wait_for(lambda: recorder.of("traffic"), what="traffic")
        (_, key, window_seconds, (row,)) = found[0]
        assert (key, window_seconds, row.revision, row.requests, row.errors) == (
            KEY, 0.2, REV, 1, 0
        )  # fmt: skip
    finally:
        await server.stop()
    # the revision's load (until the Deployment had a ready pod) and its first request are
    # spans of the trace that made it
    load, first = spans.get_finished_spans()
    assert (load.name, first.name) == (f"load {REV}", f"first request {REV}")
    for span in (load, first):
        assert span.parent is not None
        assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE, PROMOTED)
    assert first.attributes is not None
    assert first.attributes["http.response.status_code"] == 200
    assert first.attributes["headrace.model_version"] == "3"


async def test_pods_that_cannot_pull_the_image_fail_the_revision(
    fake: FakeApiServer, make: Make
) -> None:
    recorder = Recorder()
    fleet = make(recorder)
    await fleet.open_service(KEY)
    await fleet.start_revision(KEY, plan(REV, "models:/iris/3"))
    fake.put_deployment_pod(REV, "pod-imagepullbackoff.json")
    await recorder.wait_for(lambda: recorder.of("failed"), what="failed")
    assert recorder.of("failed") == [
        ("failed", KEY, REV, f"pod {REV}-0: ImagePullBackOff: Back-off pulling image "
                             '"gcr.io/heptio-images/ks-guestbook-demo:0.3"'),
    ]  # fmt: skip
    assert fleet.status(KEY)[0].state == "Failed"


async def test_an_unschedulable_pod_fails_the_revision_only_after_the_configured_time(
    fake: FakeApiServer, make: Make
) -> None:
    since = datetime.fromisoformat("2023-03-01T10:18:40+00:00").timestamp()  # the recording's
    now = [since + 0.1]  # an injected clock: 0.1 s after the scheduler said Unschedulable
    recorder = Recorder()
    fleet = make(recorder, unschedulable_seconds=0.4, clock=lambda: now[0])
    await fleet.open_service(KEY)
    await fleet.start_revision(KEY, plan(REV, "models:/iris/3"))
    fake.put_deployment_pod(REV, "pod-unschedulable-gpu.json")
    revision = fleet.revision(KEY, REV)
    assert revision is not None
    await wait_for(lambda: bool(revision.problems), what="the pod seen")
    revision.check(now[0])
    assert not recorder.of("failed")
    now[0] = since + 0.5  # the next tick (every 0.1 s) finds it waited too long
    await recorder.wait_for(lambda: recorder.of("failed"), what="failed")
    ((_, _, _, reason),) = recorder.of("failed")
    assert reason.startswith(f"pod {REV}-0: Unschedulable: 0/3 nodes are available")
    assert "Insufficient nvidia.com/gpu" in reason
    assert reason.endswith("(for 0.4 s)")


async def test_an_expired_watch_lists_again_and_misses_nothing(
    fake: FakeApiServer, make: Make
) -> None:
    recorder = Recorder()
    fleet = make(recorder)
    await fleet.open_service(KEY)
    await fleet.start_revision(KEY, plan(REV, "models:/iris/3"))
    fake.expire("deployments")  # every open watch and older resourceVersion: 410 Gone
    fake.set_status("deployments", REV, {"replicas": 1, "readyReplicas": 1})
    await recorder.ready(REV)
    assert fake.gone_sent >= 1
    fake.expire("deployments")
    fake.set_status("deployments", REV, {"replicas": 2, "readyReplicas": 2})
    await recorder.wait_for(lambda: recorder.of("scaled"), what="scaled")
    assert fake.gone_sent >= 2
    assert recorder.of("ready") == [("ready", KEY, REV, 1)]  # once, not again on the relists
    assert recorder.of("scaled") == [("scaled", KEY, REV, 2)]


async def test_a_restarted_service_adopts_its_objects(fake: FakeApiServer, make: Make) -> None:
    first = make(Recorder())
    await first.open_service(KEY)
    await first.start_revision(KEY, plan(REV, "models:/iris/3"))
    fake.set_status("deployments", REV, {"replicas": 1, "readyReplicas": 1})
    await first.aclose()  # the service stops: its objects stay on the cluster
    assert set(fake.named("deployments")) == {REV}
    made = {plural: posts(fake, plural) for plural in ("deployments", "services")}

    recorder = Recorder()
    second = make(recorder)
    await second.open_service(KEY)
    await second.start_revision(KEY, plan(REV, "models:/iris/3"))
    await recorder.ready(REV)
    assert {plural: posts(fake, plural) for plural in made} == made  # nothing created again
    assert len(fake.named("configmaps")) == 1


async def test_retire_deletes_the_revision_and_close_deletes_everything(
    fake: FakeApiServer, make: Make
) -> None:
    recorder = Recorder()
    fleet = make(recorder)
    await fleet.open_service(KEY)
    old, new = REV, "iris-predictor-00002"
    for name in (old, new):
        await fleet.start_revision(KEY, plan(name, "models:/iris/3"))
        fake.put_deployment_pod(name, "pod-running.json")
    await fleet.retire_revision(KEY, old)
    for plural in ("deployments", "services", "horizontalpodautoscalers"):
        assert set(fake.named(plural)) == {new}
    assert set(fake.named("pods")) == {f"{new}-0"}  # the old Deployment's pod went with it
    await fleet.close_service(KEY)
    assert {plural: fake.named(plural) for plural in KINDS} == {plural: {} for plural in KINDS}
    deleted = [(plural, name) for plural, name, _ in fake.delete_options]
    assert deleted[-1] == ("configmaps", "headrace-isvc-iris")  # the parent took the rest


async def test_refusals_name_the_namespace_and_the_missing_permission(
    fake: FakeApiServer, make: Make
) -> None:
    recorder = Recorder()
    fleet = make(recorder)
    with pytest.raises(FleetError, match="namespace 'nope' does not exist on the Kubernetes"):
        await fleet.open_service(ServiceKey("nope", "iris"))
    await fleet.open_service(KEY)
    fake.forbidden.add(("create", "horizontalpodautoscalers"))
    await fleet.start_revision(KEY, plan(REV, "models:/iris/3"))
    ((_, _, _, reason),) = recorder.of("failed")
    assert reason.startswith(
        "the serving service may not create horizontalpodautoscalers.autoscaling in "
        "namespace 'default' (403 Forbidden"
    )
    # All or nothing: the Deployment and Service made before the refusal are gone again.
    assert fake.named("deployments") == fake.named("services") == {}
    await fleet.start_revision(KEY, plan("iris-predictor-00002", "models:/iris/3",
                                         min_replicas=0))  # fmt: skip
    assert "needs KEDA" in recorder.of("failed", "iris-predictor-00002")[0][3]
    for name in (REV, "iris-predictor-00002"):  # the control plane retires failed revisions
        await fleet.retire_revision(KEY, name)
    with pytest.raises(FleetError, match="has no revision 'ghost'"):
        await fleet.retire_revision(KEY, "ghost")


async def test_with_keda_a_revision_scaling_to_zero_gets_a_scaled_object(
    fake: FakeApiServer, make: Make
) -> None:
    recorder = Recorder()
    fleet = make(
        recorder,
        keda=True,
        keda_prometheus="http://prometheus.monitoring:9090",
        keda_query='sum(in_flight{revision="{revision}"})',
    )
    await fleet.open_service(KEY)
    await fleet.start_revision(KEY, plan(REV, "models:/iris/3", min_replicas=0, max_replicas=2))
    (scaled,) = fake.named("scaledobjects").values()
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (0, 2)
    assert fake.named("horizontalpodautoscalers") == {}
    fake.set_status("deployments", REV, {"replicas": 1, "readyReplicas": 1})
    await recorder.ready(REV)
    fake.set_status("deployments", REV, {"replicas": 0})  # KEDA scaled it to zero
    await recorder.wait_for(lambda: recorder.of("scaled"), what="scaled")
    assert recorder.of("scaled") == [("scaled", KEY, REV, 0)]
    assert fleet.status(KEY)[0].state == "ScaledToZero"
    await fleet.retire_revision(KEY, REV)
    assert fake.named("scaledobjects") == fake.named("deployments") == {}
