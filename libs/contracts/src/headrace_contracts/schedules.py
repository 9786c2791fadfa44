"""Recurring runs (area ``schedule``): KFP's RecurringRun as commands, events and queries.

A schedule starts a run of its pipeline at every tick of a cron expression or an interval.
The scheduler owns schedules; every command carries a ``request_id`` that the event answering
it repeats (``ScheduleRejected`` says why a command was not carried out).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from .base import Command, Event, Query, Reply
from .common import JsonValue, Value
from .registry import DEFAULT_NAMESPACE

SCHEDULE_LABEL = "headrace.io/schedule"
"""The label every run a schedule starts carries, with the schedule's name as value."""


class CreateSchedule(Command):
    """Start a run of ``pipeline_spec`` at every tick of ``cron`` or every ``every``."""

    AREA = "schedule"
    NAME = "create"

    name: str = Field(description="a DNS label, unique in its namespace")
    namespace: str = DEFAULT_NAMESPACE
    pipeline_spec: dict[str, Any]
    platform_spec: dict[str, Any] | None = None
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    cron: str = Field(default="", description="5 fields, or 6 with seconds first (KFP)")
    every: str = Field(default="", description="an interval: 30s, 5m, 1h, 1d, 1h30m")
    max_concurrency: int = Field(default=1, description="runs of the schedule at once, 1-100")
    catchup: bool = Field(default=True, description="run ticks missed while down, in order")
    start_at: datetime | None = Field(default=None, description="no tick before this time")
    end_at: datetime | None = Field(default=None, description="no tick after this time")
    experiment: str = "Default"
    enable_caching: bool = True
    allow_host_containers: bool = False
    request_id: str = Field(default="", description="repeated by the event answering it")


class PauseSchedule(Command):
    """Stop firing; ticks while paused are not run later."""

    AREA = "schedule"
    NAME = "pause"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class ResumeSchedule(Command):
    """Fire again, from the first tick after now."""

    AREA = "schedule"
    NAME = "resume"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class DeleteSchedule(Command):
    """Forget the schedule; runs it started go on."""

    AREA = "schedule"
    NAME = "delete"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class ScheduleCreated(Event):
    AREA = "schedule"
    NAME = "created"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    schedule_id: str
    next_fire_at: datetime | None = None
    request_id: str = ""


class ScheduleRejected(Event):
    """A schedule command not carried out; ``command`` is create, pause, resume or delete."""

    AREA = "schedule"
    NAME = "rejected"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    command: str
    reason: str
    request_id: str = ""


class SchedulePaused(Event):
    AREA = "schedule"
    NAME = "paused"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class ScheduleResumed(Event):
    AREA = "schedule"
    NAME = "resumed"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    next_fire_at: datetime | None = None
    request_id: str = ""


class ScheduleDeleted(Event):
    AREA = "schedule"
    NAME = "deleted"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class ScheduleFired(Event):
    """One tick of a schedule: ``run_id`` (derived from the schedule and ``tick``) was
    submitted."""

    AREA = "schedule"
    NAME = "fired"

    name: str
    namespace: str = DEFAULT_NAMESPACE
    schedule_id: str
    run_id: str
    tick: datetime = Field(description="the time the tick was due")
    fired_at: datetime


class ScheduleView(Value):
    name: str
    namespace: str = DEFAULT_NAMESPACE
    schedule_id: str
    state: str = Field(description="ENABLED or PAUSED")
    pipeline_name: str = ""
    cron: str = ""
    every: str = ""
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    max_concurrency: int = 1
    catchup: bool = True
    start_at: datetime | None = None
    end_at: datetime | None = None
    next_fire_at: datetime | None = Field(default=None, description="None once past end_at")
    last_fired_at: datetime | None = None
    last_run_id: str = ""
    fired_count: int = 0
    active_runs: list[str] = Field(default_factory=list, description="runs not yet ended")
    created_at: datetime


class ScheduleDetail(Reply):
    schedule: ScheduleView | None = Field(default=None, description="None when unknown")


class GetSchedule(Query):
    AREA = "schedule"
    NAME = "get"
    REPLY = ScheduleDetail

    name: str
    namespace: str = DEFAULT_NAMESPACE


class ScheduleList(Reply):
    schedules: list[ScheduleView] = Field(default_factory=list)
    total: int = 0


class ListSchedules(Query):
    """The schedules of a namespace, by name."""

    AREA = "schedule"
    NAME = "list"
    REPLY = ScheduleList

    namespace: str = DEFAULT_NAMESPACE
    limit: int = Field(default=100, ge=1, le=10_000)
