"""The give-up hook: what a service does, in its own transaction, with a message the bus is
about to dead-letter. Against a real nats-server and a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bus_support import dead_letters
from sqlmodel import Field, Session, SQLModel

from headrace_bus import Bus, DeadLetter
from headrace_contracts import ArtifactRef, ArtifactWritten, MetricReported
from headrace_runtime import HandlerContext, Service, Settings
from headrace_testing import wait_for

Start = Callable[[Service], Awaitable[Service]]


class GivenUp(SQLModel, table=True):
    __tablename__ = "test_given_up"

    event_id: str = Field(primary_key=True)
    reason: str
    error: str


def artifact() -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri="file:///tmp/a0"), run_id="r1")


async def await_dead_letters(bus: Bus, timeout: float = 10.0) -> list[Any]:
    """The dead letters, once there is at least one."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        letters = await dead_letters(bus, timeout=0.3)
        if letters:
            return letters
    raise AssertionError(f"no dead letter after {timeout}s")


async def published(bus: Bus, subject: str) -> int:
    info = await bus.connection.jetstream().stream_info(bus.config.stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def test_a_non_retryable_error_is_given_up_at_once_with_state_and_events(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    service = Service("alpha", settings(max_deliver=5), tables=[GivenUp])

    async def give_up(
        event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten], dead: DeadLetter
    ) -> None:
        ctx.session.add(GivenUp(event_id=ctx.event_id, reason=dead.reason, error=dead.error))
        ctx.publish(MetricReported(metric="given_up", value=1.0, run_id=event.run_id))

    @service.handles(ArtifactWritten, on_give_up=give_up)
    async def broken(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        raise KeyError("artifact")  # a programming error: retrying cannot help

    await started(service)
    event_id = await client.publish(artifact())
    letters = await await_dead_letters(client)
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["rejected"]
    assert letters[0].headers["headrace-dlq-deliveries"] == "1"
    assert service.engine is not None
    with Session(service.engine) as session:
        row = session.get(GivenUp, event_id)
    assert row is not None
    assert (row.reason, row.error) == ("rejected", "KeyError: 'artifact'")
    assert await published(client, MetricReported.subject()) == 1
    assert attempts == [1]


async def test_a_give_up_that_fails_is_retried_with_the_message(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    hooks: list[str] = []
    service = Service("alpha", settings(max_deliver=3), tables=[GivenUp])

    async def give_up(
        event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten], dead: DeadLetter
    ) -> None:
        hooks.append(dead.reason)
        if len(hooks) == 1:
            raise ConnectionError("database restarting")
        ctx.session.add(GivenUp(event_id=ctx.event_id, reason=dead.reason, error=dead.error))

    @service.handles(ArtifactWritten, on_give_up=give_up)
    async def broken(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        raise ValueError("bad artifact")

    await started(service)
    event_id = await client.publish(artifact())
    await wait_for(lambda: len(hooks) == 2, what="the give-up, tried again")
    letters = await await_dead_letters(client)
    assert [m.headers["headrace-dlq-deliveries"] for m in letters] == ["2"]
    assert len(attempts) == 2  # the message came back because its give-up failed
    assert service.engine is not None
    with Session(service.engine) as session:
        assert session.get(GivenUp, event_id) is not None


async def test_a_give_up_that_always_fails_still_ends_in_the_dead_letters(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    service = Service("alpha", settings(max_deliver=2))

    async def give_up(
        event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten], dead: DeadLetter
    ) -> None:
        raise ConnectionError("database gone")

    @service.handles(ArtifactWritten, on_give_up=give_up)
    async def broken(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        raise ValueError("bad artifact")

    await started(service)
    await client.publish(artifact())
    await wait_for(lambda: len(attempts) == 3, what="every delivery the server allows")
    letters = await await_dead_letters(client)
    error = letters[0].headers["headrace-dlq-error"]
    assert error == (
        "ValueError: bad artifact; giving up failed too: ConnectionError: database gone"
    )
    assert letters[0].headers["headrace-dlq-deliveries"] == "3"
