"""Batches against a real nats-server: the messages of one fetch share one transaction, and a
bad message in a batch costs the others nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bus_support import dead_letters
from sqlalchemy import event, func
from sqlmodel import Field, Session, SQLModel, select

from headrace_bus import Bus
from headrace_contracts import ArtifactRef, ArtifactWritten, encode
from headrace_runtime import HandlerContext, Service, Settings
from headrace_testing import wait_for

Start = Callable[[Service], Awaitable[Service]]


class Seen(SQLModel, table=True):
    __tablename__ = "test_batch_seen"

    uri: str = Field(primary_key=True)
    handled_by: str = ""


def artifact(i: int) -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri=f"file:///tmp/b{i}"), run_id="r1")


def rows(service: Service) -> int:
    assert service.engine is not None
    with Session(service.engine) as session:
        return int(session.exec(select(func.count()).select_from(Seen)).one())


def counting_commits(service: Service) -> list[int]:
    """Count the commits on the service's engine from now on."""
    assert service.engine is not None
    commits: list[int] = []

    def on_commit(_conn: Any) -> None:
        commits.append(1)

    event.listen(service.engine, "commit", on_commit)
    return commits


async def test_a_backlog_is_handled_in_few_transactions(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str
) -> None:
    service = Service("alpha", settings(database_url=database_url, batch_size=64), tables=[Seen])
    later_sees_earlier: list[bool] = []

    @service.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        number = int(event.artifact.uri.rsplit("b", 1)[1])
        if number > 0:  # the message before it, in this transaction or an earlier one
            later_sees_earlier.append(
                ctx.session.get(Seen, f"file:///tmp/b{number - 1}") is not None
            )
        ctx.session.add(Seen(uri=event.artifact.uri, handled_by=ctx.event_id))

    for i in range(120):  # a backlog waiting before the service starts
        await client.publish(artifact(i))
    await service.start()
    try:
        commits = counting_commits(service)
        await wait_for(lambda: rows(service) == 120, timeout=30, what="120 recorded artifacts")
        # One commit per batch (plus the outbox relay's); one per message would be 120.
        assert len(commits) <= 20, f"{len(commits)} commits for 120 messages"
        assert later_sees_earlier == [True] * 119
    finally:
        await service.stop()


async def test_a_failing_message_in_a_batch_leaves_the_others_handled_once(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str
) -> None:
    service = Service(
        "alpha", settings(database_url=database_url, max_deliver=2, batch_size=64), tables=[Seen]
    )
    calls: dict[str, int] = {}

    @service.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        calls[event.artifact.uri] = calls.get(event.artifact.uri, 0) + 1
        if event.artifact.uri == "file:///tmp/b5":
            raise ValueError("artifact b5 names no known run: publish its run first")
        ctx.session.add(Seen(uri=event.artifact.uri))

    for i in range(10):
        await client.publish(artifact(i))
    await started(service)
    await wait_for(lambda: rows(service) == 9, timeout=30, what="the nine good artifacts")
    letters = await wait_for_letters(client, 1)
    assert "artifact b5 names no known run" in letters[0].headers["headrace-dlq-error"]
    assert rows(service) == 9  # each good one recorded once, though handled in the batch too
    assert calls["file:///tmp/b5"] >= 1


async def test_a_duplicate_inside_one_batch_is_handled_once(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    service = Service("alpha", settings(batch_size=64), tables=[Seen])
    calls: list[str] = []

    @service.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        calls.append(ctx.event_id)
        ctx.session.add(Seen(uri=f"{event.artifact.uri}#{len(calls)}"))

    subject, data, headers = encode(artifact(0), source="tests")
    # The same CloudEvent twice, past JetStream's de-duplication, before the service starts,
    # so both arrive in one fetch.
    await client.publish_raw(subject, data, headers, stream=client.config.stream)
    await client.publish_raw(
        subject, data, {**headers, "Nats-Msg-Id": "again"}, stream=client.config.stream
    )
    await client.publish(artifact(1))
    await started(service)
    await wait_for(lambda: rows(service) == 2, what="two distinct events recorded")
    await _settle()
    assert rows(service) == 2
    assert len(calls) == 2


async def wait_for_letters(client: Bus, count: int) -> list[Any]:
    found: list[Any] = []

    async def enough() -> bool:
        found[:] = await dead_letters(client)
        return len(found) >= count

    for _ in range(300):
        if await enough():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} dead letters, found {len(found)}")


async def _settle() -> None:
    """Give a wrongly redelivered message the chance to show up (there is no event to await
    for something that must not happen)."""
    await asyncio.sleep(0.3)
