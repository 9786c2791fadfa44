"""``headrace apply -f`` and ``headrace serve ...`` as a user types them, and the metadata HTTP
API's InferenceServices, against the real serving service (its data plane a recording fleet),
the real registry and a real nats-server; and the logger's events on the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from serving_support import Platform

from headrace.cli import main
from headrace_contracts import (
    InferenceRequestLogged,
    InferenceResponseLogged,
    InferenceServiceUpdated,
    InferenceServiceView,
)
from headrace_serving.dataplane import ServiceKey
from headrace_testing import nats_for_test, service_settings, wait_for

SPEC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {name}
spec:
  predictor:
    {extra}
    model:
      modelFormat: {{name: sklearn}}
      storageUri: {storage}
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("serving-cli")
    with nats_for_test(root) as nats:
        found = Platform(service_settings(root / "home", nats.url))
        try:
            yield found
        finally:
            found.stop()


def until(predicate: Callable[[], bool], what: str) -> None:
    asyncio.run(wait_for(predicate, 15.0, what))


def write(folder: Path, name: str, storage: str, extra: str = "") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SPEC.format(name=name, storage=storage, extra=extra or "minReplicas: 1"))
    return path


def cli(platform: Platform, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--nats-url", platform.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_apply_get_list_traffic_delete(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(platform, capsys, "apply", "-f", str(write(tmp_path, "iris", "/m/a.pkl")))
    assert code == 0
    assert out.startswith("inferenceservice.serving.kserve.io/iris applied")
    code, out, _ = cli(platform, capsys, "serve", "wait", "iris", "--json")
    assert code == 0
    view = json.loads(out)
    assert view["state"] == "Ready"
    assert view["url"] == platform.fleet.opened[ServiceKey("default", "iris")]
    code, out, _ = cli(platform, capsys, "serve", "get", "iris")
    assert code == 0
    assert "InferenceService default/iris: Ready" in out
    assert "stable  iris-predictor-00001 100% (ready)" in out
    code, out, _ = cli(platform, capsys, "serve", "list")
    assert code == 0
    assert "iris" in out
    assert view["url"] in out
    # no canary yet: traffic cannot move, and the CLI says why
    code, _, err = cli(platform, capsys, "serve", "traffic", "iris", "--canary-percent", "30")
    assert code == 2
    assert "has no canary revision" in err
    changed = write(tmp_path, "iris", "/m/b.pkl", "canaryTrafficPercent: 10")
    assert cli(platform, capsys, "apply", "-f", str(changed))[0] == 0
    key = ServiceKey("default", "iris")
    until(lambda: platform.fleet.traffic[key].canary_percent == 10, "canary at 10%")
    code, out, _ = cli(platform, capsys, "serve", "traffic", "iris", "--canary-percent", "30")
    assert code == 0
    assert "canary iris-predictor-00002 30%" in out
    assert platform.fleet.traffic[key].canary_percent == 30

    # the metadata service's read model serves the same view over HTTP
    def listed() -> list[dict[str, object]]:
        response = httpx.get(f"{platform.api}/inferenceservices")
        assert response.status_code == 200, (platform.api, response.text)
        return list(response.json()["services"])

    until(lambda: any(s["name"] == "iris" and len(s["traffic"]) == 2 for s in listed()), "API view")
    one = httpx.get(f"{platform.api}/inferenceservices/iris", params={"namespace": "default"})
    assert one.status_code == 200
    assert [t["percent"] for t in one.json()["traffic"]] == [70, 30]
    code, out, _ = cli(platform, capsys, "serve", "delete", "iris")
    assert code == 0
    assert out.strip() == "inferenceservice/iris deleted"
    code, _, err = cli(platform, capsys, "serve", "get", "iris")
    assert code == 2
    assert "no InferenceService default/iris" in err
    until(lambda: all(s["name"] != "iris" for s in listed()), "API forgets it")
    gone = httpx.get(f"{platform.api}/inferenceservices/iris")
    assert gone.status_code == 404
    assert "no InferenceService 'iris'" in gone.json()["error"]
    # a late, older view changes nothing: the highest generation wins
    platform.publish(
        InferenceServiceUpdated(
            service=InferenceServiceView(name="iris", state="Ready", generation=1)
        )
    )
    marker = InferenceServiceView(name="marker", state="Ready", generation=1)
    platform.publish(InferenceServiceUpdated(service=marker))
    until(lambda: any(s["name"] == "marker" for s in listed()), "the marker recorded")
    assert httpx.get(f"{platform.api}/inferenceservices/iris").status_code == 404


def test_an_invalid_file_names_the_file_and_every_problem(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "bad", "gs://bucket/m", "canaryTrafficPercent: 101")
    code, out, err = cli(platform, capsys, "apply", "-f", str(path))
    assert code == 2
    assert out == ""
    assert err.startswith(f"headrace: {path}: the InferenceService YAML has 2 problems")
    assert "spec.predictor.model.storageUri: storage scheme 'gs' is not served" in err
    assert "spec.predictor.canaryTrafficPercent: 101 is outside 0-100" in err
    code, _, err = cli(platform, capsys, "apply", "-f", str(path), "--dry-run=kubernetes")
    assert code == 2


def test_a_service_that_fails_says_why(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "ghost", "models:/ghost@production")
    assert cli(platform, capsys, "apply", "-f", str(path))[0] == 0
    code, _, err = cli(platform, capsys, "serve", "wait", "ghost")
    assert code == 1
    assert "InferenceService default/ghost failed: storageUri models:/ghost@production" in err
    assert "no model 'ghost' is registered" in err
    code, out, _ = cli(platform, capsys, "serve", "get", "ghost")
    assert code == 0
    assert "Failed" in out
    assert "no model 'ghost'" in out


def test_the_logger_publishes_bodies_as_cloudevents(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "logged", "/m/l.pkl", "logger: {mode: all}")
    assert cli(platform, capsys, "apply", "-f", str(path))[0] == 0
    assert cli(platform, capsys, "serve", "wait", "logged")[0] == 0
    key = ServiceKey("default", "logged")
    assert platform.fleet.loggers[key] is not None
    events = platform.fleet.events
    platform.call(
        lambda: events.logged(
            key,
            "logged-predictor-00001",
            "request",
            "r-1",
            b'{"instances": [[1]]}',
            "application/json",
        )
    )
    platform.call(
        lambda: events.logged(
            key,
            "logged-predictor-00001",
            "response",
            "r-1",
            b"\xff\x00",
            "application/octet-stream",
        )
    )
    until(lambda: bool(platform.of(InferenceResponseLogged, request_id="r-1")), "logged")
    (request,) = platform.of(InferenceRequestLogged, request_id="r-1")
    assert (request.service_name, request.revision, request.body) == (
        "logged",
        "logged-predictor-00001",
        '{"instances": [[1]]}',
    )
    (response,) = platform.of(InferenceResponseLogged, request_id="r-1")
    assert (response.body, response.body_encoding) == ("/wA=", "base64")


def test_a_relative_storage_path_is_the_files_folders(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, "relative", "models/r.pkl")
    assert cli(platform, capsys, "apply", "-f", str(path))[0] == 0
    code, out, _ = cli(platform, capsys, "serve", "wait", "relative", "--json")
    assert code == 0
    view = json.loads(out)
    assert view["storage_uri"] == str(tmp_path / "models" / "r.pkl")
    assert platform.fleet.plans["relative-predictor-00001"].storage_uri == view["storage_uri"]
