"""Answers to ``GetSchedule`` and ``ListSchedules`` from the schedule tables."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from headrace_contracts import (
    GetSchedule,
    ListSchedules,
    ScheduleDetail,
    ScheduleList,
    ScheduleView,
)

from .commands import find
from .tables import ScheduleRow, aware
from .timer import schedule_runs


def schedule_view(session: Session, row: ScheduleRow) -> ScheduleView:
    active, _ = schedule_runs(session, row.schedule_id)
    created = aware(row.created_at)
    assert created is not None
    return ScheduleView(
        name=row.name,
        namespace=row.namespace,
        schedule_id=row.schedule_id,
        state=row.state,
        pipeline_name=row.pipeline_name,
        cron=row.cron,
        every=row.every,
        arguments=json.loads(row.arguments),
        max_concurrency=row.max_concurrency,
        catchup=row.catchup,
        start_at=aware(row.start_at),
        end_at=aware(row.end_at),
        next_fire_at=aware(row.next_fire_at) if row.state == "ENABLED" else None,
        last_fired_at=aware(row.last_fired_at),
        last_run_id=row.last_run_id,
        fired_count=row.fired_count,
        active_runs=active,
        created_at=created,
    )


class ScheduleQueries:
    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine = engine

    def get(self, query: GetSchedule) -> ScheduleDetail:
        with Session(self._engine()) as session:
            row = find(session, query.name, query.namespace)
            return ScheduleDetail(schedule=schedule_view(session, row) if row else None)

    def list(self, query: ListSchedules) -> ScheduleList:
        with Session(self._engine()) as session:
            where = ScheduleRow.namespace == query.namespace
            rows = session.exec(
                select(ScheduleRow).where(where).order_by(col(ScheduleRow.name)).limit(query.limit)
            ).all()
            total = session.exec(select(func.count()).select_from(ScheduleRow).where(where)).one()
            return ScheduleList(
                schedules=[schedule_view(session, row) for row in rows], total=int(total)
            )
