"""The timer's compare-and-set, without a broker: timers of several replicas firing the same
due ticks at the same moment on one database (SQLite, and PostgreSQL when
HEADRACE_TEST_DATABASE_URL is set) fire each tick once between them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from headrace_runtime import RUNTIME_TABLES, OutboxMessage, build_engine, create_tables
from headrace_scheduler.schedules.tables import SCHEDULE_TABLES, ScheduleRow, ScheduleRunRow
from headrace_scheduler.schedules.timer import ScheduleTimer
from headrace_scheduler.store import TABLES

T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = build_engine(database_url, "scheduler")
    create_tables(made, [*RUNTIME_TABLES, *TABLES, *SCHEDULE_TABLES])
    yield made
    made.dispose()


async def _never(_: list[str]) -> None:
    raise AssertionError("fire_due does not publish")


@pytest.mark.postgres
@pytest.mark.parametrize("catchup", [True, False])
def test_racing_timers_fire_each_due_tick_once(
    engine: Engine, ticked_spec: dict[str, Any], catchup: bool
) -> None:
    with Session(engine) as session:
        session.add(
            ScheduleRow(
                schedule_id="0123456789ab",
                name="raced",
                namespace="default",
                every="1s",
                anchor=T0,
                pipeline_spec=json.dumps(ticked_spec),
                arguments=json.dumps({"n": 1}),
                max_concurrency=100,
                catchup=catchup,
                next_fire_at=T0 + timedelta(seconds=1),
                created_at=T0,
            )
        )
        session.commit()
    now = T0 + timedelta(seconds=5.5)  # ticks 1..5 are due
    timers = [
        ScheduleTimer(lambda: engine, _never, source="tests", now=lambda: now) for _ in range(4)
    ]
    start = threading.Barrier(len(timers))
    written: list[list[str]] = [[] for _ in timers]

    def race(i: int) -> None:
        start.wait()
        written[i] = timers[i].fire_due()[0]

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(timers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    expected = 5 if catchup else 1
    assert sorted(len(ids) for ids in written)[-1] == 2 * expected  # one timer won...
    assert sum(len(ids) for ids in written) == 2 * expected  # ...and only one
    with Session(engine) as session:
        row = session.get(ScheduleRow, "0123456789ab")
        assert row is not None
        assert row.fired_count == expected
        assert row.next_fire_at == T0 + timedelta(seconds=6)
        assert session.exec(select(func.count()).select_from(ScheduleRunRow)).one() == expected
        outbox = session.exec(select(func.count()).select_from(OutboxMessage)).one()
        assert outbox == 2 * expected  # a SubmitRun and a ScheduleFired per tick
    # a later pass at the same moment finds nothing due
    assert timers[0].fire_due()[0] == []
