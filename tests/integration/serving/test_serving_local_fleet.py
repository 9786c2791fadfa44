"""The control plane with the real data plane (``headrace_serving.fleet.LocalFleet``: model
servers and a router on this machine), the real registry and a real nats-server: a service
bound to ``models:/iris@production`` answers ``/v2/models/iris/infer`` through its URL,
rolls to a promoted version, and a revision that cannot load fails with the reason while
traffic stays. Runs once the data plane is in the tree (skipped before)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from serving_support import Platform

from headrace import Client
from headrace.serving import InferenceServiceFailedError
from headrace_testing import nats_for_test, service_settings, wait_for

pytest.importorskip("headrace_serving.fleet", reason="the data plane (LocalFleet) is not merged")
pytestmark = pytest.mark.slow

ROW = {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [0.9, 0.9, 0.1, 0.1]}


def sklearn_model(path: Path, flip: bool = False) -> Path:
    import joblib
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).random((200, 4))
    y = (x[:, 0] + x[:, 1] > 1.0).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(LogisticRegression().fit(x, 1 - y if flip else y), path)
    return path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("serving-local")
    with nats_for_test(root) as nats:
        found = Platform(service_settings(root / "home", nats.url), real_fleet=True)
        try:
            yield found
        finally:
            found.stop()


def until(predicate: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    asyncio.run(wait_for(predicate, timeout, what))


def isvc(storage: str) -> str:
    return f"""
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {{name: iris}}
spec:
  predictor:
    model:
      modelFormat: {{name: sklearn}}
      protocolVersion: v2
      storageUri: {storage}
"""


def test_a_bound_service_serves_and_rolls_to_a_promoted_version(
    platform: Platform, tmp_path: Path
) -> None:
    first = sklearn_model(tmp_path / "v1" / "model.joblib")
    second = sklearn_model(tmp_path / "v2" / "model.joblib", flip=True)
    with Client(nats_url=platform.url, timeout=10.0) as client:
        client.register_model("iris", first.as_uri(), framework="sklearn")
        client.register_model("iris", second.as_uri(), framework="sklearn")
        client.promote_model("iris", 1, "production")
        client.apply_inference_services(isvc("models:/iris@production"))
        ready = client.wait_inference_service("iris", timeout=120)
        answer = httpx.post(f"{ready.url}/v2/models/iris/infer", json={"inputs": [ROW]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == [1]
        client.promote_model("iris", 2, "production")

        def moved() -> bool:
            view = client.get_inference_service("iris")
            return [(t.revision, t.percent, t.ready) for t in view.traffic] == [
                ("iris-predictor-00002", 100, True)
            ]

        until(moved, "traffic on version 2")
        answer = httpx.post(f"{ready.url}/v2/models/iris/infer", json={"inputs": [ROW]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == [0]
        # a storage URI that holds no model: the revision fails, traffic stays on version 2
        client.apply_inference_services(isvc(str(tmp_path / "absent" / "model.joblib")))
        with pytest.raises(InferenceServiceFailedError) as failed:
            client.wait_inference_service("iris", timeout=120)
        view = failed.value.service
        assert "revision iris-predictor-00003 failed" in view.error
        assert [(t.revision, t.percent) for t in view.traffic] == [("iris-predictor-00002", 100)]
        answer = httpx.post(f"{ready.url}/v2/models/iris/infer", json={"inputs": [ROW]})
        assert answer.status_code == 200, answer.text
        client.delete_inference_service("iris")
        until(lambda: status(ready.url) in (404, 0), "new requests refused", 30)


def status(url: str) -> int:
    """The status of one inference through ``url``; 0 when nothing listens there any more."""
    try:
        return httpx.post(f"{url}/v2/models/iris/infer", json={"inputs": [ROW]}).status_code
    except httpx.TransportError:
        return 0
