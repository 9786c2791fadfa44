"""Recurring runs (KFP's RecurringRun): schedule commands, queries and the timer that fires
ticks, installed on the scheduler service by :func:`install`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from headrace_contracts import (
    CreateSchedule,
    DeleteSchedule,
    GetSchedule,
    ListSchedules,
    PauseSchedule,
    ResumeSchedule,
    RunCancelled,
    RunFailed,
    RunRejected,
    RunSucceeded,
    ScheduleCreated,
    ScheduleDetail,
    ScheduleList,
    ScheduleResumed,
)
from headrace_runtime import OutboxRelay, Service

from .commands import ScheduleCommands, utc_now
from .policy import CATCHUP_CAP
from .tables import SCHEDULE_TABLES
from .timer import ScheduleTimer
from .views import ScheduleQueries

__all__ = ["CATCHUP_CAP", "SCHEDULE_TABLES", "install"]


def install(service: Service, engine: Callable[[], Engine]) -> ScheduleTimer:
    """Handle the schedule commands and queries on ``service`` and run its timer from start
    to stop. Every replica's timer wakes on a created or resumed schedule and on a run's end."""
    commands = ScheduleCommands(utc_now)
    service.handles(CreateSchedule)(commands.create)
    service.handles(PauseSchedule)(commands.pause)
    service.handles(ResumeSchedule)(commands.resume)
    service.handles(DeleteSchedule)(commands.delete)

    async def publish(event_ids: list[str]) -> None:
        """One by one, in the order written: missed ticks run oldest first."""
        assert service.bus is not None
        relay = OutboxRelay(service.bus, engine())
        for event_id in event_ids:
            await relay.publish([event_id])

    timer = ScheduleTimer(engine, publish, source=service.source, now=utc_now)

    async def wake(_: Any) -> None:
        timer.wake()

    for woken_by in (
        ScheduleCreated,
        ScheduleResumed,
        RunSucceeded,
        RunFailed,
        RunCancelled,
        RunRejected,
    ):
        service.listens(woken_by)(wake)

    queries = ScheduleQueries(engine)

    @service.answers(GetSchedule)
    async def get_schedule(query: GetSchedule) -> ScheduleDetail:
        return await asyncio.to_thread(queries.get, query)

    @service.answers(ListSchedules)
    async def list_schedules(query: ListSchedules) -> ScheduleList:
        return await asyncio.to_thread(queries.list, query)

    @service.on_start
    async def start_timer() -> None:
        timer.start()

    @service.on_stop
    async def stop_timer() -> None:
        await timer.stop()

    return timer
