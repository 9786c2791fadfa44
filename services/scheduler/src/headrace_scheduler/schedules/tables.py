"""The scheduler's schedule tables: one row per schedule, one per run it started and that
may not have ended yet.

Times are timezone-aware UTC in and out (SQLModel's datetime columns insist on it);
:func:`stored` and :func:`aware` make sure of it. ``version`` grows with every change of a
schedule row: the timer fires a tick only by an update guarded on the version it read
(compare-and-set), so two scheduler replicas, or a pause racing a tick, never both win.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ScheduleRow(SQLModel, table=True):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_schedules_name"),)

    schedule_id: str = Field(primary_key=True)
    name: str
    namespace: str = Field(index=True)
    state: str = "ENABLED"
    version: int = 0
    cron: str = ""
    every: str = ""
    anchor: datetime
    pipeline_name: str = ""
    pipeline_spec: str = Field(sa_column=Column(Text, nullable=False))
    platform_spec: str = Field(default="", sa_column=Column(Text, nullable=False))
    arguments: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    max_concurrency: int = 1
    catchup: bool = True
    start_at: datetime | None = None
    end_at: datetime | None = None
    next_fire_at: datetime | None = Field(default=None, index=True)
    last_fired_at: datetime | None = None
    last_run_id: str = ""
    fired_count: int = 0
    experiment: str = "Default"
    enable_caching: bool = True
    allow_host_containers: bool = False
    created_at: datetime


class ScheduleRunRow(SQLModel, table=True):
    """A run a schedule started, kept until the run has ended (for ``max_concurrency``)."""

    __tablename__ = "schedule_runs"

    run_id: str = Field(primary_key=True)
    schedule_id: str = Field(index=True)
    tick: datetime


SCHEDULE_TABLES: list[type[SQLModel]] = [ScheduleRow, ScheduleRunRow]


@overload
def stored(moment: datetime) -> datetime: ...
@overload
def stored(moment: None) -> None: ...
@overload
def stored(moment: datetime | None) -> datetime | None: ...
def stored(moment: datetime | None) -> datetime | None:
    """``moment`` as the UTC the tables hold (a naive time is taken as UTC)."""
    return aware(moment)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """A stored time as timezone-aware UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
