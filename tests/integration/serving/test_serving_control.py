"""The serving service's control plane against a real nats-server, the real metadata service
(the registry) and SQLite or PostgreSQL, its data plane a recording fleet: apply -> Ready,
bad specs and unknown models -> Failed with the reasons, rollouts on ModelPromoted (canary
when canaryTrafficPercent is set), a failed revision keeping traffic, traffic shifts, delete,
queries, and a restart reopening what was live."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serving_support import Platform

from headrace import Client
from headrace.serving import InferenceServiceFailedError
from headrace_contracts import (
    InferenceServiceDeleted,
    InferenceServiceFailed,
    InferenceServiceReady,
    InferenceServiceScaled,
    InferenceServiceUpdated,
    InferenceServiceView,
    TrafficShifted,
)
from headrace_serving.dataplane import ServiceKey, Traffic
from headrace_testing import database_url_for, nats_for_test, service_settings, wait_for

pytestmark = pytest.mark.postgres


def isvc(name: str, storage: str, *extra: str, fmt: str = "sklearn") -> str:
    lines = "".join(f"\n    {line}" for line in extra)
    return f"""
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name}
spec:
  predictor:{lines}
    model:
      modelFormat: {{name: {fmt}}}
      storageUri: {storage}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp(f"serving-{request.param}")
    url = database_url_for(str(request.param), root)
    with nats_for_test(root) as nats:
        found = Platform(service_settings(root / "home", nats.url, database_url=url))
        try:
            yield found
        finally:
            found.stop()


@pytest.fixture
def client(platform: Platform) -> Iterator[Client]:
    with Client(nats_url=platform.url, timeout=10.0) as made:
        yield made


def until(predicate: Callable[[], bool], what: str) -> None:
    asyncio.run(wait_for(predicate, 15.0, what))


def test_apply_makes_a_ready_service_with_a_url(client: Client, platform: Platform) -> None:
    (applied,) = client.apply_inference_services(isvc("plain", "/srv/models/iris.joblib"))
    assert applied.name == "plain"
    ready = client.wait_inference_service("plain", timeout=15)
    assert ready.url == platform.fleet.opened[ServiceKey("default", "plain")]
    assert [(r.name, r.state, r.ready_replicas) for r in ready.revisions] == [
        ("plain-predictor-00001", "Ready", 1)
    ]
    assert [(t.revision, t.percent, t.ready, t.tag) for t in ready.traffic] == [
        ("plain-predictor-00001", 100, True, "stable")
    ]
    plan = platform.fleet.plans["plain-predictor-00001"]
    assert (plan.model_name, plan.storage_uri, plan.model_format) == (
        "plain",
        "/srv/models/iris.joblib",
        "sklearn",
    )
    assert plan.env["HEADRACE_NATS_URL"] == platform.url
    until(lambda: bool(platform.of(InferenceServiceReady, service_name="plain")), "Ready")
    event = platform.of(InferenceServiceReady, service_name="plain")[0]
    assert (event.url, event.revision) == (ready.url, "plain-predictor-00001")

    def updates() -> list[InferenceServiceView]:
        return [
            e.service for e in platform.of(InferenceServiceUpdated) if e.service.name == "plain"
        ]

    until(lambda: any(u.state == "Ready" for u in updates()), "Updated: Ready")
    assert [u.generation for u in updates()] == sorted({u.generation for u in updates()})
    # the same document again changes nothing
    client.apply_inference_services(isvc("plain", "/srv/models/iris.joblib"))
    again = client.get_inference_service("plain")
    assert [r.name for r in again.revisions] == ["plain-predictor-00001"]


def test_a_bad_spec_sent_on_the_bus_fails_the_service_with_every_reason(
    client: Client, platform: Platform
) -> None:
    from headrace_contracts import ApplyInferenceService

    document = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "bad"},
        "spec": {
            "predictor": {
                "canaryTrafficPercent": 150,
                "model": {"modelFormat": {"name": "tensorflow"}, "storageUri": "/m"},
            }
        },
    }
    platform.publish(ApplyInferenceService(service_name="bad", spec=document))
    with pytest.raises(InferenceServiceFailedError) as failed:
        client.wait_inference_service("bad", timeout=15)
    error = failed.value.service.error
    assert "spec.predictor.canaryTrafficPercent: 150 is outside 0-100" in error
    assert "unknown model format 'tensorflow'" in error
    until(lambda: bool(platform.of(InferenceServiceFailed, service_name="bad")), "Failed")
    assert ServiceKey("default", "bad") not in platform.fleet.opened


def test_a_models_uri_naming_no_model_or_alias_fails_naming_it(
    client: Client, platform: Platform
) -> None:
    client.apply_inference_services(isvc("nomodel", "models:/ghost@production"))
    with pytest.raises(InferenceServiceFailedError) as failed:
        client.wait_inference_service("nomodel", timeout=15)
    assert "no model 'ghost' is registered" in failed.value.service.error
    client.register_model("known", "file:///models/known/1", framework="sklearn")
    client.apply_inference_services(isvc("noalias", "models:/known@production"))
    with pytest.raises(InferenceServiceFailedError) as failed:
        client.wait_inference_service("noalias", timeout=15)
    error = failed.value.service.error
    assert "has no alias 'production'" in error
    assert "headrace model promote known" in error


def test_a_promotion_rolls_a_bound_service_to_the_new_version_as_a_canary(
    client: Client, platform: Platform
) -> None:
    for n in (1, 2):
        client.register_model("fraud", f"file:///models/fraud/{n}", framework="sklearn")
    client.promote_model("fraud", 1, "production")
    client.apply_inference_services(
        isvc("fraud", "models:/fraud@production", "canaryTrafficPercent: 20")
    )
    first = client.wait_inference_service("fraud", timeout=15)
    assert first.model == "fraud"
    assert first.alias == "production"
    assert [(r.storage_uri, r.model_version) for r in first.revisions] == [("models:/fraud/1", "1")]
    client.promote_model("fraud", 2, "production")
    key = ServiceKey("default", "fraud")
    until(lambda: platform.fleet.traffic.get(key, Traffic(None)).canary is not None, "canary")
    assert platform.fleet.traffic[key] == Traffic(
        stable="fraud-predictor-00001", canary="fraud-predictor-00002", canary_percent=20
    )
    view = client.get_inference_service("fraud")
    assert [(t.revision, t.percent, t.tag) for t in view.traffic] == [
        ("fraud-predictor-00001", 80, "stable"),
        ("fraud-predictor-00002", 20, "canary"),
    ]
    assert view.revisions[0].storage_uri == "models:/fraud/2"
    until(
        lambda: bool(platform.of(TrafficShifted, canary_revision="fraud-predictor-00002")), "shift"
    )
    ready = platform.of(InferenceServiceReady, revision="fraud-predictor-00002")
    until(
        lambda: bool(platform.of(InferenceServiceReady, revision="fraud-predictor-00002")), "ready"
    )
    ready = platform.of(InferenceServiceReady, revision="fraud-predictor-00002")
    assert (ready[0].model_version, ready[0].traffic_percent) == (2, 20)
    # promote the canary by hand: the old stable revision is retired
    shifted = client.shift_traffic("fraud", 100)
    assert [(t.revision, t.percent) for t in shifted.traffic] == [("fraud-predictor-00002", 100)]
    until(lambda: "fraud-predictor-00001" in platform.fleet.retired, "retired")
    assert platform.fleet.traffic[key] == Traffic(stable="fraud-predictor-00002")


def test_without_a_canary_percent_a_promotion_replaces_the_revision(
    client: Client, platform: Platform
) -> None:
    for n in (1, 2):
        client.register_model("churn", f"file:///models/churn/{n}")
    client.promote_model("churn", 1, "production")
    client.apply_inference_services(isvc("churn", "models:/churn@production"))
    client.wait_inference_service("churn", timeout=15)
    client.promote_model("churn", 2, "production")
    key = ServiceKey("default", "churn")
    until(lambda: platform.fleet.traffic.get(key) == Traffic("churn-predictor-00002"), "rolled")
    until(lambda: "churn-predictor-00001" in platform.fleet.retired, "old retired")
    view = client.get_inference_service("churn")
    assert [(r.name, r.state) for r in view.revisions] == [
        ("churn-predictor-00002", "Ready"),
        ("churn-predictor-00001", "Retired"),
    ]


def test_a_failed_revision_keeps_traffic_and_the_service_says_why(
    client: Client, platform: Platform
) -> None:
    client.apply_inference_services(isvc("keep", "/srv/models/good.joblib"))
    client.wait_inference_service("keep", timeout=15)
    client.apply_inference_services(isvc("keep", "/srv/models/broken.joblib"))
    with pytest.raises(InferenceServiceFailedError) as failed:
        client.wait_inference_service("keep", timeout=15)
    view = failed.value.service
    assert (
        "revision keep-predictor-00002 failed: cannot load /srv/models/broken.joblib" in view.error
    )
    assert [(t.revision, t.percent) for t in view.traffic] == [("keep-predictor-00001", 100)]
    assert [(r.name, r.state) for r in view.revisions] == [
        ("keep-predictor-00002", "Failed"),
        ("keep-predictor-00001", "Ready"),
    ]
    assert platform.fleet.traffic[ServiceKey("default", "keep")] == Traffic("keep-predictor-00001")
    until(
        lambda: bool(platform.of(InferenceServiceFailed, revision="keep-predictor-00002")), "event"
    )
    # a spec that cannot load at all fails the service but never replaces the serving one
    client.apply_inference_services(isvc("keep", "models:/ghost@production"))
    with pytest.raises(InferenceServiceFailedError) as failed:
        client.wait_inference_service("keep", timeout=15)
    assert "no model 'ghost' is registered" in failed.value.service.error
    assert failed.value.service.storage_uri == "/srv/models/broken.joblib"
    assert platform.fleet.traffic[ServiceKey("default", "keep")] == Traffic("keep-predictor-00001")
    # applying a good spec again serves it
    client.apply_inference_services(isvc("keep", "/srv/models/good2.joblib"))
    fixed = client.wait_inference_service("keep", timeout=15)
    assert (fixed.error, fixed.revisions[0].name) == ("", "keep-predictor-00003")
    assert [(t.revision, t.percent) for t in fixed.traffic] == [("keep-predictor-00003", 100)]


def test_canary_percent_changes_alone_move_traffic_and_delete_closes(
    client: Client, platform: Platform, tmp_path: Path
) -> None:
    client.apply_inference_services(isvc("split", "/srv/a.joblib"))
    client.wait_inference_service("split", timeout=15)
    client.apply_inference_services(isvc("split", "/srv/b.joblib", "canaryTrafficPercent: 10"))
    key = ServiceKey("default", "split")
    until(lambda: platform.fleet.traffic.get(key, Traffic(None)).canary_percent == 10, "canary")
    client.apply_inference_services(isvc("split", "/srv/b.joblib", "canaryTrafficPercent: 40"))
    until(lambda: platform.fleet.traffic[key].canary_percent == 40, "40%")
    view = client.get_inference_service("split")
    assert len(view.revisions) == 2  # the percentage made no revision
    client.apply_inference_services(isvc("split", "/srv/b.joblib", "canaryTrafficPercent: 0"))
    until(lambda: platform.fleet.traffic[key] == Traffic("split-predictor-00001"), "rolled back")
    deleted = client.delete_inference_service("split")
    assert deleted.name == "split"
    until(lambda: key in platform.fleet.closed, "closed")
    until(lambda: bool(platform.of(InferenceServiceDeleted, service_name="split")), "deleted")
    assert "split" not in [s.name for s in client.list_inference_services()]
    last = [e.service for e in platform.of(InferenceServiceUpdated) if e.service.name == "split"][
        -1
    ]
    assert last.state == "Deleted"


def test_list_filters_by_namespace_and_a_restart_reopens_live_services(
    client: Client, platform: Platform
) -> None:
    client.apply_inference_services(isvc("teamed", "/srv/t.joblib"), namespace="team-a")
    client.wait_inference_service("teamed", namespace="team-a", timeout=15)
    assert [s.name for s in client.list_inference_services(namespace="team-a")] == ["teamed"]
    assert "teamed" not in [s.name for s in client.list_inference_services()]
    assert "teamed" in [s.name for s in client.list_inference_services(namespace="")]
    platform.stop_service(platform.serving)
    platform.serving = platform.start_serving()
    key = ServiceKey("team-a", "teamed")
    until(lambda: platform.fleet.traffic.get(key) == Traffic("teamed-predictor-00001"), "reopened")
    assert "teamed-predictor-00001" in platform.fleet.plans
    view = client.get_inference_service("teamed", namespace="team-a")
    assert view.state == "Ready"
    assert view.url == platform.fleet.opened[key]


def test_scaling_reports_move_replicas_and_scale_to_zero(
    client: Client, platform: Platform
) -> None:
    client.apply_inference_services(
        isvc("elastic", "/srv/e.joblib", "minReplicas: 0", "maxReplicas: 3")
    )
    ready = client.wait_inference_service("elastic", timeout=15)
    assert (ready.min_replicas, ready.max_replicas) == (0, 3)
    key, revision = ServiceKey("default", "elastic"), "elastic-predictor-00001"
    events = platform.fleet.events
    platform.call(lambda: events.scaled(key, revision, 3))
    until(lambda: bool(platform.of(InferenceServiceScaled, revision=revision, replicas=3)), "3")
    until(lambda: client.get_inference_service("elastic").revisions[0].replicas == 3, "recorded")
    platform.call(lambda: events.scaled(key, revision, 0))
    until(lambda: client.get_inference_service("elastic").revisions[0].state == "ScaledToZero", "0")
    view = client.get_inference_service("elastic")
    assert view.state == "Ready"  # scaled to zero still serves: the next request starts one
    assert [(t.revision, t.percent, t.ready) for t in view.traffic] == [(revision, 100, True)]
    platform.call(lambda: events.scaled(key, revision, 1))
    until(lambda: client.get_inference_service("elastic").revisions[0].state == "Ready", "back")
