"""Handled-message records are forgotten once past their window, and only then: on SQLite
and PostgreSQL, by the pure delete and by a running service's periodic pass."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from headrace_bus import Bus
from headrace_contracts import ArtifactRef, ArtifactWritten, encode
from headrace_runtime import (
    RUNTIME_TABLES,
    HandlerContext,
    ProcessedMessage,
    Service,
    Settings,
    build_engine,
    create_tables,
)
from headrace_runtime.processed import prune_processed
from headrace_runtime.tables import utcnow
from headrace_testing import wait_for

Start = Callable[[Service], Awaitable[Service]]
TABLE = ProcessedMessage.__table__  # type: ignore[attr-defined]


def records(engine: Engine, consumer: str) -> set[str]:
    with Session(engine) as session:
        found = session.connection().execute(
            select(TABLE.c.event_id).where(TABLE.c.consumer == consumer)
        )
        return {row[0] for row in found}


def test_only_records_older_than_the_cut_off_go_in_bounded_batches(database_url: str) -> None:
    engine = build_engine(database_url, "prunetest")
    try:
        create_tables(engine, RUNTIME_TABLES)
        now = utcnow()
        rows = [
            {
                "consumer": c,
                "event_id": f"{c}-old-{i}",
                "processed_at": now - timedelta(hours=2, seconds=3 * i + n),
            }
            for n, c in enumerate(("alpha", "alpha-ext", "beta"))
            for i in range(7)
        ] + [
            {"consumer": c, "event_id": f"{c}-new-{i}", "processed_at": now - timedelta(minutes=5)}
            for c in ("alpha", "beta")
            for i in range(3)
        ]
        with engine.begin() as connection:
            connection.execute(insert(TABLE), rows)
        cut_off = now - timedelta(hours=1)

        passes: list[int] = []

        def stop_after_two() -> bool:
            passes.append(1)
            return len(passes) > 2

        # 14 old records of alpha's two consumers, 5 per transaction: stopped after two
        deleted = prune_processed(
            engine, ["alpha", "alpha-ext"], cut_off, batch=5, stop=stop_after_two
        )
        assert deleted == 10
        left = records(engine, "alpha") | records(engine, "alpha-ext")
        assert len({key for key in left if "-old-" in key}) == 4

        assert prune_processed(engine, ["alpha", "alpha-ext"], cut_off, batch=5) == 4
        assert records(engine, "alpha") == {f"alpha-new-{i}" for i in range(3)}  # in the window
        assert records(engine, "alpha-ext") == set()
        assert len(records(engine, "beta")) == 10  # another consumer's records are its own
        assert prune_processed(engine, ["alpha", "alpha-ext"], cut_off, batch=5) == 0
    finally:
        engine.dispose()


def artifact(i: int) -> ArtifactWritten:
    return ArtifactWritten(artifact=ArtifactRef(uri=f"file:///tmp/p{i}"), run_id="r1")


async def publish_again(client: Bus, message: ArtifactWritten, event_id: str, copy: str) -> None:
    """The same CloudEvent once more, past JetStream's de-duplication (a late redelivery)."""
    subject, data, headers = encode(message, source="tests", event_id=event_id)
    await client.publish_raw(
        subject, data, {**headers, "Nats-Msg-Id": copy}, stream=client.config.stream
    )


async def test_a_running_service_keeps_records_in_the_window_and_forgets_older_ones(
    settings: Callable[..., Settings], client: Bus, started: Start, database_url: str
) -> None:
    handled: list[str] = []
    keeper = Service(
        "alpha",
        settings(
            database_url=database_url,
            processed_retain_seconds=3600,
            processed_prune_interval_seconds=0.1,
        ),
    )

    @keeper.handles(ArtifactWritten)
    async def record(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
        handled.append(event.artifact.uri)

    await started(keeper)
    await publish_again(client, artifact(1), "event-1", "copy-1")
    await wait_for(lambda: handled == ["file:///tmp/p1"], what="the first event handled")
    assert keeper.engine is not None
    assert await keeper._pruner.prune() == 0  # type: ignore[union-attr]
    assert "event-1" in records(keeper.engine, "alpha")

    # within the window a redelivery is still recognised (a later event marks when it is past)
    await publish_again(client, artifact(1), "event-1", "copy-2")
    await publish_again(client, artifact(2), "event-2", "copy-3")
    await wait_for(lambda: "file:///tmp/p2" in handled, what="the marker event handled")
    assert handled == ["file:///tmp/p1", "file:///tmp/p2"]
    await keeper.stop()

    # the same service restarted with a one-second window forgets both on its own
    forgetter = Service(
        "alpha",
        settings(
            database_url=database_url,
            processed_retain_seconds=1,
            processed_prune_interval_seconds=0.1,
        ),
    )
    forgetter.handles(ArtifactWritten)(record)
    await started(forgetter)
    engine = forgetter.engine
    assert engine is not None
    await wait_for(lambda: not records(engine, "alpha"), what="the records pruned")
    # and so handles a copy arriving after the window as a new message
    await publish_again(client, artifact(1), "event-1", "copy-4")
    await wait_for(lambda: len(handled) == 3, what="the late copy handled")
    assert handled[-1] == "file:///tmp/p1"
    with Session(engine) as session:
        count = session.connection().execute(select(func.count()).select_from(TABLE)).scalar()
    assert count is not None
    assert count <= 1  # the late copy's own record (unless pruned already)
