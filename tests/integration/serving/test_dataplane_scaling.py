"""Autoscaling over real model-server replicas: to zero and back, up under concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from dataplane_support import V2, Load, Recorder, plan, slow_model

from headrace_serving import LocalFleet, ServiceKey, Traffic

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


async def test_scales_to_zero_when_idle_and_the_first_request_after_succeeds(
    fleet: LocalFleet, recorder: Recorder, client: httpx.AsyncClient, models: tuple[Path, Path]
) -> None:
    key = ServiceKey("default", "zero")
    revision = "zero-predictor-00001"
    url = await fleet.open_service(key)
    # A request before there is any revision waits for one, then for its load.
    early = asyncio.create_task(client.post(f"{url}/v2/models/iris/infer", json=V2))
    await fleet.start_revision(key, plan(revision, models[0], min_replicas=0, max_replicas=1))
    await fleet.set_traffic(key, Traffic(stable=revision))
    assert (await early).status_code == 200
    assert recorder.of("ready", revision)
    # No request for the idle period (1.5 s here): no replica left.
    await recorder.wait_for(lambda: ("scaled", key, revision, 0) in recorder.events)
    [status] = fleet.status(key)
    assert (status.state, status.replicas, status.ready_replicas) == ("ScaledToZero", 0, 0)

    answer = await client.post(f"{url}/v2/models/iris/infer", json=V2)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-headrace-revision"] == revision
    assert ("scaled", key, revision, 1) in recorder.events
    [status] = fleet.status(key)
    assert (status.state, status.ready_replicas) == ("Ready", 1)


async def test_scales_up_under_concurrency_and_back_down(
    fleet: LocalFleet, recorder: Recorder, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = ServiceKey("default", "up")
    revision = "up-predictor-00001"
    url = await fleet.open_service(key)
    model = slow_model(tmp_path / "slow", 0.05)
    await fleet.start_revision(
        key, plan(revision, model, min_replicas=1, max_replicas=2, scale_target=1)
    )
    await fleet.set_traffic(key, Traffic(stable=revision))
    await recorder.ready(revision)
    async with Load(client, url, concurrency=4) as load:
        await recorder.wait_for(lambda: ("scaled", key, revision, 2) in recorder.events)
        [status] = fleet.status(key)
        assert status.ready_replicas == 2
        total = load.statuses.total()
        await load.until(lambda: load.statuses.total() > total + 20)
    assert load.failures == []
    # Without load, back to min_replicas once the stable window has passed.
    scaled = len(recorder.of("scaled", revision))
    await recorder.wait_for(lambda: ("scaled", key, revision, 1) in recorder.events[scaled:])
    [status] = fleet.status(key)
    assert (status.state, status.ready_replicas) == ("Ready", 1)


async def test_a_request_waits_for_a_replica_up_to_the_cold_start_timeout(
    recorder: Recorder, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    fleet = LocalFleet(recorder, logs_dir=tmp_path, cold_start_timeout=0.5)
    key = ServiceKey("default", "never")
    try:
        url = await fleet.open_service(key)
        answer = await client.post(f"{url}/v2/models/iris/infer", json=V2)
    finally:
        await fleet.aclose()
    assert answer.status_code == 503
    assert answer.json()["error"] == (
        "InferenceService default/never: no replica of a revision could take the request "
        "within 0.5 s"
    )
