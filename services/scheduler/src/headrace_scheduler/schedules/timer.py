"""The timer: one asyncio task per scheduler replica that fires the schedules' due ticks.

It sleeps until the earliest ``next_fire_at`` of any enabled schedule (at most
``max_sleep``), and is woken early when a schedule is created or resumed, or a run ends
(a tick held by ``max_concurrency`` may fire then). Database work runs in a thread.

Each schedule's due ticks are fired in one transaction: the schedule row is advanced by an
update guarded on the version read (compare-and-set), and each tick's ``SubmitRun`` and
``ScheduleFired`` are written to the outbox in the same transaction, then published. A
replica whose update matched no row lost the race and writes nothing, so every tick fires
once across replicas; a crash after commit leaves the messages in the outbox, published by the
relay's sweep. The run id and event ids are derived from the schedule and the tick, so even a
repeated ``SubmitRun`` is a no-op for the scheduler and for JetStream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import Engine, delete, func, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from headrace_contracts import ScheduleFired, SubmitRun, derive_event_id
from headrace_contracts.run_views import RUN_FINAL_STATES
from headrace_contracts.schedules import SCHEDULE_LABEL
from headrace_pipelines import timing
from headrace_runtime import OutboxMessage, outbox_row

from ..store import RunRow
from .policy import plan_firing, tick_run_id
from .tables import ScheduleRow, ScheduleRunRow, aware, stored

log = logging.getLogger("headrace.scheduler.schedules")


def schedule_runs(session: Session, schedule_id: str) -> tuple[list[str], list[str]]:
    """The runs a schedule started that have not ended, and those that have (by run id)."""
    found = session.exec(
        select(ScheduleRunRow.run_id, RunRow.state)
        .select_from(ScheduleRunRow)
        .join(RunRow, col(RunRow.run_id) == col(ScheduleRunRow.run_id), isouter=True)
        .where(ScheduleRunRow.schedule_id == schedule_id)
        .order_by(col(ScheduleRunRow.tick))
    ).all()
    active = [run_id for run_id, state in found if state not in RUN_FINAL_STATES]
    ended = [run_id for run_id, state in found if state in RUN_FINAL_STATES]
    return active, ended


class ScheduleTimer:
    def __init__(
        self,
        engine: Callable[[], Engine],
        publish: Callable[[list[str]], Awaitable[None]],
        *,
        source: str,
        now: Callable[[], datetime],
        max_sleep: float = 60.0,
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._source = source
        self._now = now
        self._max_sleep = max_sleep
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="schedule-timer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            delay = self._max_sleep
            try:
                event_ids, delay = await asyncio.to_thread(self.fire_due)
                if event_ids:
                    await self._publish(event_ids)
            except Exception:
                log.exception("schedule timer pass failed; trying again in a second")
                delay = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def fire_due(self) -> tuple[list[str], float]:
        """Fire every due tick; the outbox ids written and the seconds until the next tick."""
        now = self._now()
        engine = self._engine()
        with Session(engine) as session:
            due = session.exec(
                select(ScheduleRow.schedule_id).where(
                    ScheduleRow.state == "ENABLED",
                    col(ScheduleRow.next_fire_at) <= stored(now),
                )
            ).all()
        written: list[str] = []
        for schedule_id in due:
            try:
                written += self._fire(engine, schedule_id, now)
            except OperationalError as exc:  # SQLite: another replica is writing; next pass
                log.warning("schedule %s not fired this pass: %s", schedule_id, exc)
        with Session(engine) as session:
            upcoming = session.exec(
                select(func.min(ScheduleRow.next_fire_at)).where(
                    ScheduleRow.state == "ENABLED",
                    col(ScheduleRow.next_fire_at) > stored(now),
                )
            ).first()
        wait = self._max_sleep
        if upcoming is not None:
            ahead = aware(upcoming)
            assert ahead is not None
            wait = min(max((ahead - self._now()).total_seconds(), 0.0), self._max_sleep)
        return written, wait

    def _fire(self, engine: Engine, schedule_id: str, now: datetime) -> list[str]:
        with Session(engine) as session:
            row = session.get(ScheduleRow, schedule_id)
            if row is None or row.state != "ENABLED":
                return []
            active, ended = schedule_runs(session, schedule_id)
            before = aware(row.next_fire_at)
            firing = plan_firing(
                timing(row.cron, row.every, aware(row.anchor) or now),
                before,
                now,
                catchup=row.catchup,
                capacity=row.max_concurrency - len(active),
                end_at=aware(row.end_at),
            )
            if not firing.ticks and firing.next_fire_at == before:
                return []  # held by max_concurrency
            run_ids = [tick_run_id(row.name, schedule_id, tick) for tick in firing.ticks]
            values: dict[str, object] = {
                "version": row.version + 1,
                "next_fire_at": stored(firing.next_fire_at),
            }
            if firing.ticks:
                values |= {
                    "last_fired_at": stored(now),
                    "last_run_id": run_ids[-1],
                    "fired_count": row.fired_count + len(run_ids),
                }
            table = ScheduleRow.__table__  # type: ignore[attr-defined]
            changed = session.connection().execute(
                update(table)
                .where(table.c.schedule_id == schedule_id, table.c.version == row.version)
                .values(**values)
            )
            if changed.rowcount != 1:
                session.rollback()
                return []  # another replica fired these ticks, or the schedule changed
            if ended:
                session.exec(delete(ScheduleRunRow).where(col(ScheduleRunRow.run_id).in_(ended)))
            if firing.dropped:
                log.warning(
                    "schedule %s/%s: missed ticks beyond the catch-up cap dropped",
                    row.namespace,
                    row.name,
                )
            outbox: list[OutboxMessage] = []
            for tick, run_id in zip(firing.ticks, run_ids, strict=True):
                session.add(
                    ScheduleRunRow(run_id=run_id, schedule_id=schedule_id, tick=stored(tick))
                )
                outbox.append(self._submit(row, run_id, tick))
                fired = ScheduleFired(
                    name=row.name,
                    namespace=row.namespace,
                    schedule_id=schedule_id,
                    run_id=run_id,
                    tick=tick,
                    fired_at=now,
                )
                event_id = derive_event_id(schedule_id, "tick", tick.isoformat(), "fired")
                outbox.append(outbox_row(fired, source=self._source, event_id=event_id))
            session.add_all(outbox)
            session.commit()
            for tick, run_id in zip(firing.ticks, run_ids, strict=True):
                log.info(
                    "schedule %s/%s fired tick %s: run %s",
                    row.namespace,
                    row.name,
                    tick.isoformat(),
                    run_id,
                )
            return [message.event_id for message in outbox]

    def _submit(self, row: ScheduleRow, run_id: str, tick: datetime) -> OutboxMessage:
        submit = SubmitRun(
            run_id=run_id,
            pipeline_spec=json.loads(row.pipeline_spec),
            platform_spec=json.loads(row.platform_spec) if row.platform_spec else None,
            arguments=json.loads(row.arguments),
            display_name=f"{row.name} {tick.strftime('%Y-%m-%d %H:%M:%S')}",
            experiment=row.experiment,
            enable_caching=row.enable_caching,
            allow_host_containers=row.allow_host_containers,
            labels={SCHEDULE_LABEL: row.name},
        )
        event_id = derive_event_id(row.schedule_id, "tick", tick.isoformat(), "submit")
        return outbox_row(submit, source=self._source, event_id=event_id)
