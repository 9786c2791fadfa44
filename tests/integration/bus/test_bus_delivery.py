"""Delivery guarantees against a real nats-server: retries, dead letters, idempotency."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from bus_support import dead_letters
from sqlmodel import Field, Session, SQLModel, select

from headrace_bus import Bus, PermanentError
from headrace_contracts import ArtifactRef, ArtifactWritten, MetricReported, encode
from headrace_runtime import HandlerContext, Service, Settings
from headrace_testing import wait_for

Start = Callable[[Service], Awaitable[Service]]


class Counter(SQLModel, table=True):
    __tablename__ = "test_counter"

    name: str = Field(primary_key=True)
    value: int = 0


def artifact(i: int = 0) -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri=f"file:///tmp/a{i}"), run_id="r1")


async def test_invalid_messages_are_dead_lettered_and_consumer_goes_on(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    handled: list[str] = []
    service = Service("alpha", settings())

    @service.handles(ArtifactWritten)
    async def on_artifact(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        handled.append(event.artifact.uri)

    await started(service)
    stream = client.config.stream
    # 1. no CloudEvents headers at all
    await client.publish_raw("headrace.artifact.written", b'{"x": 1}', {}, stream=stream)
    # 2. a CloudEvent whose data fails the ArtifactWritten model
    subject, _, headers = encode(artifact(), source="tests")
    await client.publish_raw(subject, b'{"run_id": "r1"}', headers, stream=stream)
    # 3. a valid one after both
    await client.publish(artifact(3))

    await wait_for(lambda: handled == ["file:///tmp/a3"], what="the valid message")
    letters = await dead_letters(client)
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["invalid", "invalid"]
    assert (
        "missing header(s) ce-specversion, ce-id, ce-source, ce-type"
        in (letters[0].headers["headrace-dlq-error"])
    )
    assert letters[0].data == b'{"x": 1}'
    second = letters[1].headers
    assert "artifact: Field required" in second["headrace-dlq-error"]
    assert second["ce-id"] == headers["ce-id"]  # original headers are kept
    assert second["headrace-dlq-consumer"] == "alpha"
    assert second["headrace-dlq-subject"] == "headrace.artifact.written"


async def test_transient_failure_is_redelivered_and_succeeds(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    service = Service("alpha", settings(max_deliver=5), tables=[Counter])

    @service.handles(ArtifactWritten)
    async def flaky(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("database briefly unreachable")
        ctx.session.add(Counter(name=ctx.event_id, value=len(attempts)))

    await started(service)
    event_id = await client.publish(artifact())
    await wait_for(lambda: len(attempts) == 3, what="three attempts")
    assert service.engine is not None
    await wait_for(lambda: _counter(service, event_id) == 3, what="the committed state")
    assert await dead_letters(client, timeout=0.3) == []


async def test_always_failing_handler_ends_in_dead_letters_after_max_deliver(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    service = Service("alpha", settings(max_deliver=3))

    @service.handles(ArtifactWritten)
    async def broken(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        if event.artifact.uri == "file:///tmp/a0":
            raise RuntimeError("model file is corrupt")

    await started(service)
    event_id = await client.publish(artifact())
    await wait_for(lambda: len(attempts) == 3, what="three attempts")
    letters = await dead_letters(client)
    assert len(letters) == 1
    headers = letters[0].headers
    assert headers["headrace-dlq-reason"] == "exhausted"
    assert headers["headrace-dlq-deliveries"] == "3"
    assert "RuntimeError: model file is corrupt" in headers["headrace-dlq-error"]
    assert headers["ce-id"] == event_id
    await client.publish(artifact(9))  # the consumer is still alive ...
    await wait_for(lambda: len(attempts) == 4, what="the next message")
    await _settle()
    assert len(attempts) == 4  # ... and the dead one is never redelivered


async def test_permanent_error_is_dead_lettered_at_once(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    service = Service("alpha", settings(max_deliver=5))

    @service.handles(ArtifactWritten)
    async def refuse(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        raise PermanentError("run r1 does not exist")

    await started(service)
    await client.publish(artifact())
    await wait_for(lambda: len(attempts) == 1)
    letters = await dead_letters(client)
    assert [m.headers["headrace-dlq-reason"] for m in letters] == ["rejected"]
    assert "run r1 does not exist" in letters[0].headers["headrace-dlq-error"]
    await _settle()
    assert len(attempts) == 1


async def test_same_event_delivered_twice_changes_state_once(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str
) -> None:
    calls: list[str] = []
    service = Service("alpha", settings(database_url=database_url), tables=[Counter])

    @service.handles(ArtifactWritten)
    async def count(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        calls.append(ctx.event_id)
        row = ctx.session.get(Counter, "artifacts") or Counter(name="artifacts")
        row.value += 1
        ctx.session.add(row)

    await started(service)
    subject, data, headers = encode(artifact(), source="tests")
    # The same CloudEvent twice, past JetStream's de-duplication (as a redelivery would be).
    await client.publish_raw(subject, data, headers, stream=client.config.stream)
    await client.publish_raw(
        subject, data, {**headers, "Nats-Msg-Id": "another"}, stream=client.config.stream
    )
    await client.publish(artifact(2))
    await wait_for(lambda: _counter(service, "artifacts") == 2, what="two distinct events")
    await _settle()
    assert _counter(service, "artifacts") == 2
    assert len(set(calls)) == 2


async def test_publish_is_deduplicated_by_event_id(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    handled: list[str] = []
    service = Service("alpha", settings())

    @service.handles(ArtifactWritten)
    async def on_artifact(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        handled.append(ctx.event_id)

    await started(service)
    await client.publish(artifact(), event_id="fixed-id")
    await client.publish(artifact(), event_id="fixed-id")
    await client.publish(artifact(1))
    await wait_for(lambda: len(handled) == 2)
    await _settle()
    assert handled.count("fixed-id") == 1


async def test_outbox_publishes_once_even_when_the_handler_is_retried(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    attempts: list[int] = []
    metrics: list[str] = []
    alpha = Service("alpha", settings())
    beta = Service("beta", settings())

    @alpha.handles(ArtifactWritten)
    async def emit(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        attempts.append(1)
        ctx.publish(MetricReported(metric="artifacts", value=1.0, run_id=event.run_id))
        if len(attempts) == 1:
            raise ConnectionError("crash after publishing, before commit")

    @beta.handles(MetricReported)
    async def on_metric(event: MetricReported, ctx: HandlerContext[MetricReported]) -> None:
        metrics.append(ctx.event_id)

    await started(alpha)
    await started(beta)
    await client.publish(artifact())
    await wait_for(lambda: len(metrics) == 1, what="the metric")
    await _settle()
    assert len(attempts) == 2
    assert len(metrics) == 1


def _counter(service: Service, name: str) -> int:
    assert service.engine is not None
    with Session(service.engine) as session:
        row = session.exec(select(Counter).where(Counter.name == name)).first()
        return row.value if row else 0


async def _settle(seconds: float = 0.5) -> None:
    import asyncio

    await asyncio.sleep(seconds)


pytestmark = pytest.mark.timeout(60)
