"""Serving commands that are not carried out are visible: an apply the bus gives up on (its
row cannot be written) leaves the service Failed with the error, and `headrace apply` / `serve
get` say why; a shift or delete given up leaves the service as it was with the error, and the
client raises it; a promotion given up says on every bound service that the rollout did not
happen; a shift for an unknown service or one without a canary is answered by
InferenceServiceRejected. Real nats-server, the real registry, SQLite or PostgreSQL; the
fault is raised inside the database driver; the data plane records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from serving_support import Platform

from headrace import Client
from headrace.cli import main
from headrace.serving import InferenceServiceFailedError, InferenceServiceRejectedError
from headrace_contracts import (
    ApplyInferenceService,
    InferenceServiceFailed,
    InferenceServiceRejected,
    ShiftTraffic,
)
from headrace_serving.dataplane import ServiceKey, Traffic
from headrace_testing import database_url_for, nats_for_test, service_settings, wait_for
from headrace_testing.faults import StoreFault, parameter_values

pytestmark = pytest.mark.postgres


def isvc(name: str, storage: str, *extra: str) -> str:
    lines = "".join(f"\n    {line}" for line in extra)
    return f"""
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name}
spec:
  predictor:{lines}
    model:
      modelFormat: {{name: sklearn}}
      storageUri: {storage}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp(f"serving-given-up-{request.param}")
    url = database_url_for(str(request.param), root)
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url, database_url=url, max_deliver=2)
        found = Platform(settings)
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


def fault(platform: Platform, statement: str, when: Callable[[list[object]], bool]) -> StoreFault:
    assert platform.serving.engine is not None
    return StoreFault(
        platform.serving.engine,
        statement=statement,
        when=lambda parameters: when(parameter_values(parameters)),
    )


def test_an_apply_the_bus_gives_up_on_fails_the_service_with_the_error(
    client: Client, platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = fault(platform, "INSERT INTO serving_services", lambda values: "Failed" not in values)
    try:
        (applied,) = client.apply_inference_services(isvc("lost", "/srv/models/iris.joblib"))
        # the CLI prints what it applied, and why it failed
        path = tmp_path / "other.yaml"
        path.write_text(isvc("other", "/srv/models/iris.joblib"))
        assert main(["apply", "-f", str(path), "--nats-url", platform.url]) == 0
    finally:
        broken.remove()
    printed = capsys.readouterr()
    assert printed.out == "inferenceservice.serving.kserve.io/other applied (Failed)\n"
    assert printed.err.startswith(
        "headrace: InferenceService default/other failed: the serving service could not apply "
        "the InferenceService: failed 2 deliveries"
    )
    assert 4 <= broken.hits <= 6
    assert applied.state == "Failed"
    assert applied.error.startswith(
        "the serving service could not apply the InferenceService: failed 2 deliveries; last "
        "error OperationalError: "
    )
    assert "database is locked" in applied.error
    assert applied.error.endswith("; apply it again")
    with pytest.raises(InferenceServiceFailedError) as failed:
        client.wait_inference_service("lost", timeout=15)
    assert failed.value.service.error == applied.error
    until(lambda: bool(platform.of(InferenceServiceFailed, service_name="lost")), "Failed event")
    assert ServiceKey("default", "lost") not in platform.fleet.opened
    assert main(["serve", "get", "lost", "--nats-url", platform.url]) == 0
    assert "the serving service could not apply the InferenceService" in capsys.readouterr().out
    # once the database works, applying it again serves it
    path = tmp_path / "lost.yaml"
    path.write_text(isvc("lost", "/srv/models/iris.joblib"))
    assert main(["apply", "-f", str(path), "--nats-url", platform.url]) == 0
    assert capsys.readouterr().err == ""
    ready = client.wait_inference_service("lost", timeout=15)
    assert (ready.state, ready.error) == ("Ready", "")


def test_a_shift_or_delete_the_bus_gives_up_on_keeps_the_service_and_says_why(
    client: Client, platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    client.apply_inference_services(isvc("split", "/srv/a.joblib"))
    client.wait_inference_service("split", timeout=15)
    client.apply_inference_services(isvc("split", "/srv/b.joblib", "canaryTrafficPercent: 10"))
    key = ServiceKey("default", "split")
    until(lambda: platform.fleet.traffic.get(key, Traffic(None)).canary_percent == 10, "canary")
    broken = fault(platform, "UPDATE serving_services", lambda values: 37 in values)
    try:
        with pytest.raises(InferenceServiceRejectedError) as caught:
            client.shift_traffic("split", 37)
        assert (
            main(
                ["serve", "traffic", "split", "--canary-percent", "37", "--nats-url", platform.url]
            )
            == 1
        )
        assert "shift_traffic not carried out: the serving service could not shift 37% " in (
            capsys.readouterr().err
        )
    finally:
        broken.remove()
    assert str(caught.value).startswith(
        "InferenceService default/split: shift_traffic not carried out: the serving service "
        "could not shift 37% of its traffic to the canary: failed 2 deliveries"
    )
    view = client.get_inference_service("split")
    assert view.error == caught.value.rejected.reason
    assert [t.percent for t in view.traffic] == [90, 10]
    assert platform.fleet.traffic[key].canary_percent == 10
    broken = fault(platform, "DELETE FROM serving_revisions", lambda values: True)
    try:
        with pytest.raises(InferenceServiceRejectedError) as caught:
            client.delete_inference_service("split")
    finally:
        broken.remove()
    assert "could not delete it: failed 2 deliveries" in str(caught.value)
    assert client.get_inference_service("split").error == caught.value.rejected.reason
    assert key not in platform.fleet.closed
    # once the database works, both do
    assert [t.percent for t in client.shift_traffic("split", 37).traffic] == [63, 37]
    client.delete_inference_service("split")


def test_a_promotion_the_bus_gives_up_on_shows_on_every_bound_service(
    client: Client, platform: Platform
) -> None:
    for n in (1, 2):
        client.register_model("fraud", f"file:///models/fraud/{n}", framework="sklearn")
    client.promote_model("fraud", 1, "production")
    client.apply_inference_services(isvc("fraud", "models:/fraud@production"))
    client.wait_inference_service("fraud", timeout=15)
    broken = fault(platform, "INSERT INTO serving_revisions", lambda values: True)
    try:
        client.promote_model("fraud", 2, "production")
        until(lambda: bool(client.get_inference_service("fraud").error), "the error shown")
    finally:
        broken.remove()
    view = client.get_inference_service("fraud")
    assert view.state == "Ready"  # it serves version 1 still
    assert [r.storage_uri for r in view.revisions] == ["models:/fraud/1"]
    assert view.error.startswith(
        "the serving service could not roll out models:/fraud/2 (promoted to @production); it "
        "serves what it served: failed 2 deliveries"
    )
    assert view.error.endswith("apply it again to load models:/fraud@production")


def test_a_shift_for_an_unknown_service_or_one_without_a_canary_is_rejected(
    client: Client, platform: Platform
) -> None:
    asked = uuid.uuid4().hex
    platform.publish(ShiftTraffic(service_name="ghost", canary_percent=50, request_id=asked))
    until(lambda: bool(platform.of(InferenceServiceRejected, request_id=asked)), "rejected")
    (rejected,) = platform.of(InferenceServiceRejected, request_id=asked)
    assert (rejected.service_name, rejected.command) == ("ghost", "shift_traffic")
    assert rejected.reason == (
        "no InferenceService default/ghost: traffic not shifted (list them with `headrace serve "
        "list`)"
    )
    client.apply_inference_services(isvc("single", "/srv/one.joblib"))
    client.wait_inference_service("single", timeout=15)
    asked = uuid.uuid4().hex
    platform.publish(ShiftTraffic(service_name="single", canary_percent=50, request_id=asked))
    until(lambda: bool(platform.of(InferenceServiceRejected, request_id=asked)), "rejected")
    (rejected,) = platform.of(InferenceServiceRejected, request_id=asked)
    assert rejected.reason.startswith(
        "InferenceService default/single has no canary revision: traffic not shifted (its "
        "revision single-predictor-00001 keeps all of it)"
    )
    view = client.get_inference_service("single")
    assert [(t.revision, t.percent) for t in view.traffic] == [("single-predictor-00001", 100)]
    # the client says so before sending anything
    with pytest.raises(ValueError, match="has no canary revision to shift traffic to"):
        client.shift_traffic("single", 50)
    # an apply whose name cannot be one is rejected the same way
    asked = uuid.uuid4().hex
    document = {"metadata": {"name": "x" * 70}, "spec": {}}
    platform.publish(ApplyInferenceService(service_name="x" * 70, spec=document, request_id=asked))
    until(lambda: bool(platform.of(InferenceServiceRejected, request_id=asked)), "rejected")
    (rejected,) = platform.of(InferenceServiceRejected, request_id=asked)
    assert rejected.command == "apply"
    assert "are DNS labels of 1 to 63 characters" in rejected.reason
