"""The router over real model-server replicas: the canary split, promotion and rollback under
load, revisions that cannot load, deleting a service under load, the request logger."""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from dataplane_support import V2, Load, Recorder, plan, served, slow_model
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from headrace_serving import LocalFleet, LoggerPlan, ServiceKey, Traffic

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]

A, B, C = "canary-predictor-00001", "canary-predictor-00002", "canary-predictor-00003"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def canary_service(
    fleet: LocalFleet, recorder: Recorder, models: tuple[Path, Path]
) -> tuple[ServiceKey, str]:
    key = ServiceKey("default", "canary")
    url = await fleet.open_service(key)
    await fleet.start_revision(key, plan(A, models[0]))
    await fleet.set_traffic(key, Traffic(stable=A))
    await recorder.ready(A)
    return key, url


async def infer(client: httpx.AsyncClient, url: str) -> httpx.Response:
    return await client.post(f"{url}/v2/models/iris/infer", json=V2)


async def test_canary_gets_its_share_once_ready(
    fleet: LocalFleet,
    recorder: Recorder,
    client: httpx.AsyncClient,
    models: tuple[Path, Path],
    canary_service: tuple[ServiceKey, str],
) -> None:
    key, url = canary_service
    await fleet.start_revision(key, plan(B, models[1]))
    await fleet.set_traffic(key, Traffic(stable=A, canary=B, canary_percent=20))
    early = [await infer(client, url) for _ in range(20)]
    if not recorder.of("ready", B):  # B still loading: it got none of them
        assert {a.headers["x-headrace-revision"] for a in early} == {A}
    await recorder.ready(B)

    served: collections.Counter[str] = collections.Counter()

    async def send(count: int) -> None:
        for _ in range(count):
            answer = await infer(client, url)
            assert answer.status_code == 200, answer.text
            served[answer.headers["x-headrace-revision"]] += 1

    await asyncio.gather(*(send(250) for _ in range(8)))
    assert sum(served.values()) == 2000
    assert 0.17 <= served[B] / 2000 <= 0.23, served
    assert set(served) == {A, B}


async def test_promotion_and_rollback_under_load_lose_no_request(
    fleet: LocalFleet,
    recorder: Recorder,
    client: httpx.AsyncClient,
    models: tuple[Path, Path],
    canary_service: tuple[ServiceKey, str],
) -> None:
    key, url = canary_service
    await fleet.start_revision(key, plan(B, models[1]))  # known already: nothing happens
    await recorder.ready(B)
    await fleet.set_traffic(key, Traffic(stable=A, canary=B, canary_percent=20))
    async with Load(client, url, concurrency=4) as load:
        await load.until(lambda: load.revisions[B] > 20)
        await fleet.set_traffic(key, Traffic(stable=B))  # promotion
        await fleet.retire_revision(key, A)  # its requests in flight finish first
        on_a = load.revisions[A]
        total = load.statuses.total()
        await load.until(lambda: load.statuses.total() > total + 100)
        assert load.revisions[A] == on_a

        await fleet.start_revision(key, plan(C, models[0]))
        await fleet.set_traffic(key, Traffic(stable=B, canary=C, canary_percent=50))
        await recorder.ready(C)
        await load.until(lambda: load.revisions[C] > 20)
        await fleet.set_traffic(key, Traffic(stable=B, canary=C, canary_percent=0))  # rollback
        await fleet.retire_revision(key, C)
        on_c = load.revisions[C]
        total = load.statuses.total()
        await load.until(lambda: load.statuses.total() > total + 100)
        assert load.revisions[C] == on_c
    assert load.failures == []
    assert set(load.statuses) == {200}
    states = {s.revision: s.state for s in fleet.status(key)}
    assert states == {A: "Retired", B: "Ready", C: "Retired"}


async def test_a_revision_that_cannot_load_fails_with_the_reason_and_traffic_stays(
    fleet: LocalFleet,
    recorder: Recorder,
    client: httpx.AsyncClient,
    models: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    key = ServiceKey("default", "bad")
    good, missing, corrupt = "bad-predictor-00001", "bad-predictor-00002", "bad-predictor-00003"
    url = await fleet.open_service(key)
    await fleet.start_revision(key, plan(good, models[0]))
    await fleet.set_traffic(key, Traffic(stable=good))
    await recorder.ready(good)
    broken = tmp_path / "corrupt" / "model.joblib"
    broken.parent.mkdir()
    broken.write_bytes(b"not a joblib file")
    async with Load(client, url, concurrency=2) as load:
        for name, uri in ((missing, tmp_path / "nowhere" / "model.joblib"), (corrupt, broken)):
            await fleet.start_revision(key, plan(name, uri))
            await fleet.set_traffic(key, Traffic(stable=good, canary=name, canary_percent=50))
            failed = await recorder.wait_for(lambda n=name: recorder.of("failed", n))
            assert str(uri) in failed[0][3]
            total = load.statuses.total()
            await load.until(lambda t=total: load.statuses.total() > t + 50)
    assert "does not exist" in recorder.of("failed", missing)[0][3]
    assert "cannot load" in recorder.of("failed", corrupt)[0][3]
    assert load.failures == []
    assert set(load.revisions) == {good}
    status = {s.revision: s for s in fleet.status(key)}
    assert status[missing].state == "Failed"
    assert str(tmp_path / "nowhere") in status[missing].reason

    # With nothing but the failed revision to go to, a request gets 503 with the reason.
    await fleet.set_traffic(key, Traffic(stable=corrupt))
    answer = await infer(client, url)
    assert answer.status_code == 503
    assert "cannot load" in answer.json()["error"]
    assert corrupt in answer.json()["error"]


async def test_closing_a_service_under_load_finishes_requests_in_flight_and_404s_new_ones(
    fleet: LocalFleet,
    recorder: Recorder,
    client: httpx.AsyncClient,
    tmp_path: Path,
    fleet_metrics: InMemoryMetricReader,
) -> None:
    key = ServiceKey("default", "closing")
    revision = "closing-predictor-00001"
    url = await fleet.open_service(key, logger=LoggerPlan(mode="request"))
    await fleet.start_revision(key, plan(revision, slow_model(tmp_path / "slow", 0.4)))
    await fleet.set_traffic(key, Traffic(stable=revision))
    await recorder.ready(revision)
    in_flight = [asyncio.create_task(infer(client, url)) for _ in range(3)]
    # The logger hands over each request as the router sends it to a replica.
    await recorder.wait_for(lambda: len(recorder.of("logged", revision)) >= 3)

    closing = asyncio.create_task(fleet.close_service(key))
    late = await infer(client, url)
    assert late.status_code == 404
    assert "InferenceService default/closing" in late.json()["error"]
    assert [answer.status_code for answer in await asyncio.gather(*in_flight)] == [200] * 3
    await closing
    assert fleet.status(key) == []
    # measured per revision: the 3 answered by it, the late one by none
    assert served(fleet_metrics, "default/closing") == {(revision, 200): (3, 3), ("", 404): (1, 1)}
    with pytest.raises(httpx.ConnectError):
        await infer(client, url)

    # Opened again on its port, it answers there (no revision yet: it waits, so no request).
    port = int(url.rsplit(":", 1)[1])
    assert await fleet.open_service(key, port=port) == url
    await fleet.close_service(key)


async def test_logger_hands_over_request_and_response_bodies_with_one_id(
    fleet: LocalFleet, recorder: Recorder, client: httpx.AsyncClient, models: tuple[Path, Path]
) -> None:
    key = ServiceKey("default", "logged")
    revision = "logged-predictor-00001"
    url = await fleet.open_service(key, logger=LoggerPlan(mode="all"))
    await fleet.start_revision(key, plan(revision, models[0]))
    await fleet.set_traffic(key, Traffic(stable=revision))
    await recorder.ready(revision)

    body = json.dumps(V2).encode()
    headers = {"x-request-id": "req-1", "content-type": "application/json"}
    answer = await client.post(f"{url}/v2/models/iris/infer", content=body, headers=headers)
    assert answer.status_code == 200

    def logged(*, request_id: str, other: bool = False) -> list[tuple[Any, ...]]:
        found = [e for e in recorder.of("logged", revision) if (e[4] == request_id) != other]
        return found if len(found) == 2 else []

    pair = await recorder.wait_for(lambda: logged(request_id="req-1"))
    request, response = sorted(pair, key=lambda e: e[3] != "request")
    assert request[3:] == ("request", "req-1", body, "application/json")
    assert response[3:] == ("response", "req-1", answer.content, "application/json")

    # Without an id the router makes one, the same for both halves; a chunked body is whole.
    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    answer = await client.post(f"{url}/v2/models/iris/infer", content=chunks())
    assert answer.status_code == 200
    pair = await recorder.wait_for(lambda: logged(request_id="req-1", other=True))
    request, response = sorted(pair, key=lambda e: e[3] != "request")
    assert request[4] == response[4]
    assert request[5] == body
    assert response[5] == answer.content
