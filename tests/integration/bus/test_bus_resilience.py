"""Replicas sharing a durable consumer, NATS restarts, request/reply."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from headrace_bus import Bus, NoResponders, RequestFailed
from headrace_contracts import (
    ArtifactList,
    ArtifactRecord,
    ArtifactRef,
    ArtifactWritten,
    ListArtifacts,
    Ping,
    Pong,
    Reply,
)
from headrace_metadata.app import build as build_metadata
from headrace_runtime import HandlerContext, Service, Settings
from headrace_testing import TestNats, wait_for

Start = Callable[[Service], Awaitable[Service]]


def artifact(i: int) -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri=f"file:///tmp/a{i}"), run_id="r1")


async def test_two_replicas_share_the_work_and_handle_each_message_once(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str
) -> None:
    handled: Counter[str] = Counter()
    by_replica: Counter[str] = Counter()

    def replica(index: int) -> Service:
        service = Service(
            "alpha",
            settings(database_url=database_url, instance_id=f"alpha-{index}", batch_size=4),
        )

        @service.handles(ArtifactWritten)
        async def work(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
            await asyncio.sleep(0.005)
            handled[ctx.event_id] += 1
            by_replica[service.instance] += 1

        return service

    await started(replica(1))
    await started(replica(2))
    ids = [await client.publish(artifact(i)) for i in range(200)]
    await wait_for(lambda: len(handled) == 200, timeout=30, what="200 messages")
    await asyncio.sleep(0.5)
    assert set(handled) == set(ids)
    assert max(handled.values()) == 1
    assert by_replica["alpha-1"] > 0
    assert by_replica["alpha-2"] > 0


async def test_services_reconnect_after_nats_restarts(
    settings: Callable[..., Settings], client: Bus, started: Start, nats_server: TestNats
) -> None:
    if nats_server.server is None:
        pytest.skip("needs the test's own nats-server to restart it")
    handled: list[str] = []
    service = Service("alpha", settings())

    @service.handles(ArtifactWritten)
    async def on_artifact(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        handled.append(event.artifact.uri)

    await started(service)
    await client.publish(artifact(0))
    await wait_for(lambda: len(handled) == 1)

    nats_server.stop()
    await asyncio.sleep(0.5)
    # A publish during the outage is retried until the server is back.
    pending = asyncio.create_task(client.publish(artifact(1)))
    await asyncio.sleep(0.5)
    nats_server.start()
    await asyncio.wait_for(pending, 30)
    await client.publish(artifact(2))
    await wait_for(lambda: len(handled) == 3, timeout=30, what="messages after the restart")
    assert sorted(handled) == [f"file:///tmp/a{i}" for i in range(3)]
    pongs = await client.gather(Ping(service="alpha"), timeout=0.5, expected=1)
    assert [p.service for p in pongs if isinstance(p, Pong)] == ["alpha"]


async def test_query_answered_by_one_replica(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    await started(build_metadata(settings(instance_id="metadata-1")))
    await started(build_metadata(settings(instance_id="metadata-2")))

    async def total() -> int:
        reply = await client.request(ListArtifacts(run_id="r1"), timeout=2)
        return int(reply.total)  # type: ignore[attr-defined]

    # One at a time: the two replicas share the consumer, so artifacts published together
    # may be recorded in either order, and the page below is newest first.
    for i in range(3):
        await client.publish(artifact(i))
        for _ in range(200):
            if await total() == i + 1:
                break
            await asyncio.sleep(0.05)
    reply = await client.request(ListArtifacts(run_id="r1", limit=2), timeout=2)
    assert reply.total == 3  # type: ignore[attr-defined]
    assert [r.artifact.uri for r in reply.artifacts] == [  # type: ignore[attr-defined]
        "file:///tmp/a2",
        "file:///tmp/a1",
    ]
    pongs = await client.gather(Ping(service="metadata"), timeout=0.5, expected=2)
    assert sorted(p.instance for p in pongs if isinstance(p, Pong)) == [
        "metadata-1",
        "metadata-2",
    ]


async def test_query_without_a_responder_names_the_fix(client: Bus) -> None:
    with pytest.raises(NoResponders, match="headrace up"):
        await client.request(ListArtifacts(), timeout=1)


async def test_an_answer_over_the_servers_max_payload_is_an_error_not_a_timeout(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    service = Service("big", settings(instance_id="big-1"))

    @service.answers(ListArtifacts)
    async def answer(query: ListArtifacts) -> Reply:
        many = [
            ArtifactRecord(artifact=ArtifactRef(uri=f"file:///tmp/{i:06d}-{'x' * 100}"))
            for i in range(query.limit)
        ]
        return ArtifactList(artifacts=many, total=len(many))

    await started(service)
    small = await client.request(ListArtifacts(limit=10), timeout=5)
    assert small.total == 10  # type: ignore[attr-defined]
    with pytest.raises(RequestFailed) as caught:
        await client.request(ListArtifacts(limit=10_000), timeout=5)
    assert "over the NATS server's max_payload of 1048576 bytes: ask for less" in str(caught.value)
