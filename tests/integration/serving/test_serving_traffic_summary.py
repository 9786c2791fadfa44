"""The serving service with the real data plane (LocalFleet: a model server and the router
on this machine), the registry and a real nats-server: requests through an
InferenceService's URL come back as `InferenceTrafficSummarized` telemetry on
``headrace.telemetry.inferenceservice.traffic`` (core NATS) with the right counts, and the
metadata service's live endpoint (``GET /api/v1/events``) forwards it to the dashboard; an
idle service publishes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from nats.aio.msg import Msg
from serving_support import Platform

from headrace import Client
from headrace_contracts import InferenceTrafficSummarized, decode
from headrace_testing import nats_for_test, service_settings, wait_for

pytestmark = pytest.mark.slow

INTERVAL = 0.5
ROW = {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [0.9, 0.9, 0.1, 0.1]}
ISVC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {{name: busy}}
spec:
  predictor:
    model:
      modelFormat: {{name: sklearn}}
      protocolVersion: v2
      storageUri: {storage}
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("serving-traffic")
    os.environ["HEADRACE_SERVING_TRAFFIC_INTERVAL"] = str(INTERVAL)
    try:
        with nats_for_test(root) as nats:
            found = Platform(service_settings(root / "home", nats.url), real_fleet=True)
            try:
                yield found
            finally:
                found.stop()
    finally:
        del os.environ["HEADRACE_SERVING_TRAFFIC_INTERVAL"]


def sklearn_model(path: Path) -> Path:
    import joblib
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).random((200, 4))
    y = (x[:, 0] + x[:, 1] > 1.0).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(LogisticRegression().fit(x, y), path)
    return path


def test_requests_come_back_as_a_traffic_summary_on_the_bus_and_the_live_stream(
    platform: Platform, tmp_path: Path
) -> None:
    summaries: list[InferenceTrafficSummarized] = []

    async def received(msg: Msg) -> None:
        found = decode(msg.headers, msg.data, platform.bus.catalogue, subject=msg.subject)
        assert isinstance(found.message, InferenceTrafficSummarized)
        summaries.append(found.message)

    subject = InferenceTrafficSummarized.subject()
    assert subject == "headrace.telemetry.inferenceservice.traffic"
    platform.run(platform.bus.connection.subscribe(subject, cb=received))
    model = sklearn_model(tmp_path / "m" / "model.joblib")
    with Client(nats_url=platform.url, timeout=10.0) as client:
        client.apply_inference_services(ISVC.format(storage=model.as_uri()))
        ready = client.wait_inference_service("busy", timeout=120)
        revision = ready.traffic[0].revision
        # the live endpoint, as the dashboard reads it, filtered to the telemetry type
        live = httpx.stream(
            "GET",
            f"{platform.api}/events",
            params={"type_prefix": InferenceTrafficSummarized.ce_type()},
            timeout=30.0,
        )
        with live as stream:
            assert stream.status_code == 200, stream.read()
            lines = stream.iter_lines()
            assert next(lines).startswith(": listening")  # the listener is in place
            with httpx.Client(timeout=30.0) as http:
                for _ in range(12):
                    answer = http.post(f"{ready.url}/v2/models/busy/infer", json={"inputs": [ROW]})
                    assert answer.status_code == 200, answer.text
                missing = http.post(f"{ready.url}/v2/models/nope/infer", json={"inputs": [ROW]})
                assert missing.status_code == 404
            sent = None
            for line in lines:
                if line.startswith("data: "):
                    sent = json.loads(line.removeprefix("data: "))
                    break
        assert sent is not None
        assert sent["type"] == "io.headrace.inferenceservice.traffic.v1"
        assert sent["subject"] == subject
        assert sent["data"]["service_name"] == "busy"
        assert sent["data"]["revisions"][0]["revision"] == revision

        def counted() -> int:
            return sum(r.requests for s in summaries for r in s.revisions)

        asyncio.run(wait_for(lambda: counted() >= 13, 30, "13 requests summarised"))
        published = len(summaries)
        time.sleep(4 * INTERVAL)  # absence cannot be awaited: four idle windows pass
        assert len(summaries) == published, "an idle service published a traffic summary"
        ours = [s for s in summaries if s.service_name == "busy"]
        assert all(s.namespace == "default" and s.window_seconds == INTERVAL for s in ours)
        rows = [r for s in ours for r in s.revisions]
        assert {r.revision for r in rows} == {revision}
        assert sum(r.requests for r in rows) == 13  # twelve answered 200, one 404
        assert sum(r.errors for r in rows) == 0  # a 404 is not a server error
        for row in rows:
            assert row.requests_per_second == pytest.approx(row.requests / INTERVAL, abs=0.01)
            assert 0 < row.p50_ms <= row.p95_ms < 30_000
        client.delete_inference_service("busy")
