"""Handlers of the schedule commands: create, pause, resume, delete.

A command that cannot be carried out publishes ``ScheduleRejected`` naming the schedule, the
command and the reason (a bad cron expression or interval, parameters the pipeline needs and
was not given, an unknown schedule, ...); nothing is dead-lettered for a user's mistake.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from headrace_contracts import (
    CreateSchedule,
    DeleteSchedule,
    PauseSchedule,
    ResumeSchedule,
    ScheduleCreated,
    ScheduleDeleted,
    SchedulePaused,
    ScheduleRejected,
    ScheduleResumed,
)
from headrace_pipelines import SpecError, check_schedule_arguments, compile_plan, timing
from headrace_runtime import HandlerContext

from .policy import first_tick
from .tables import ScheduleRow, ScheduleRunRow, aware, stored

log = logging.getLogger("headrace.scheduler.schedules")

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_CONCURRENCY = 100


class Rejected(Exception):
    """A schedule command that cannot be carried out; the message says why."""


def find(session: Session, name: str, namespace: str) -> ScheduleRow | None:
    return session.exec(
        select(ScheduleRow).where(ScheduleRow.name == name, ScheduleRow.namespace == namespace)
    ).first()


def check_create(msg: CreateSchedule, now: datetime) -> tuple[str, datetime | None]:
    """The pipeline's name and the first tick; :class:`Rejected` names what is wrong."""
    for what, value in (("schedule name", msg.name), ("namespace", msg.namespace)):
        if not DNS_LABEL.match(value):
            raise Rejected(
                f"{what} {value!r} is not a DNS label: use 1-63 lower-case letters, digits "
                "and '-', starting and ending with a letter or digit"
            )
    if not 1 <= msg.max_concurrency <= MAX_CONCURRENCY:
        raise Rejected(
            f"max_concurrency {msg.max_concurrency} is out of range: give 1 to {MAX_CONCURRENCY}"
        )
    start, end = aware(msg.start_at), aware(msg.end_at)
    if start is not None and end is not None and end <= start:
        raise Rejected(f"end {end.isoformat()} is not after start {start.isoformat()}")
    if end is not None and end <= now:
        raise Rejected(f"end {end.isoformat()} has already passed: no tick could fire")
    try:
        ticks = timing(msg.cron, msg.every, start or now)
        plan = compile_plan(msg.pipeline_spec, msg.platform_spec)
        check_schedule_arguments(plan, dict(msg.arguments))
    except SpecError as exc:
        raise Rejected(str(exc)) from None
    return plan.name, first_tick(ticks, now, start, end)


class ScheduleCommands:
    """The schedule command handlers. Timers wake on the events they publish (after commit)."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    async def create(self, msg: CreateSchedule, ctx: HandlerContext[Any]) -> None:
        now = self._now()
        try:
            if find(ctx.session, msg.name, msg.namespace) is not None:
                raise Rejected(
                    f"schedule {msg.name!r} already exists in namespace {msg.namespace!r}: "
                    "delete it first, or choose another name"
                )
            pipeline_name, first = check_create(msg, now)
        except Rejected as exc:
            self._reject(ctx, msg.name, msg.namespace, "create", str(exc), msg.request_id)
            return
        schedule_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"headrace-schedule:{ctx.event_id}"))
        ctx.session.add(
            ScheduleRow(
                schedule_id=schedule_id,
                name=msg.name,
                namespace=msg.namespace,
                cron=" ".join(msg.cron.split()),
                every=msg.every.strip(),
                anchor=stored(aware(msg.start_at) or now),
                pipeline_name=pipeline_name,
                pipeline_spec=json.dumps(msg.pipeline_spec),
                platform_spec=json.dumps(msg.platform_spec) if msg.platform_spec else "",
                arguments=json.dumps(msg.arguments),
                max_concurrency=msg.max_concurrency,
                catchup=msg.catchup,
                start_at=stored(msg.start_at),
                end_at=stored(msg.end_at),
                next_fire_at=stored(first),
                experiment=msg.experiment,
                enable_caching=msg.enable_caching,
                allow_host_containers=msg.allow_host_containers,
                created_at=stored(now),
            )
        )
        ctx.publish(
            ScheduleCreated(
                name=msg.name,
                namespace=msg.namespace,
                schedule_id=schedule_id,
                next_fire_at=first,
                request_id=msg.request_id,
            )
        )
        log.info("schedule %s/%s created; first tick %s", msg.namespace, msg.name, first)

    async def pause(self, msg: PauseSchedule, ctx: HandlerContext[Any]) -> None:
        row = self._found(ctx, msg.name, msg.namespace, "pause", msg.request_id)
        if row is None:
            return
        row.state = "PAUSED"
        row.version += 1
        ctx.session.add(row)
        ctx.publish(
            SchedulePaused(name=msg.name, namespace=msg.namespace, request_id=msg.request_id)
        )

    async def resume(self, msg: ResumeSchedule, ctx: HandlerContext[Any]) -> None:
        row = self._found(ctx, msg.name, msg.namespace, "resume", msg.request_id)
        if row is None:
            return
        now = self._now()
        if row.state != "ENABLED":
            ticks = timing(row.cron, row.every, aware(row.anchor) or now)
            row.next_fire_at = stored(
                first_tick(ticks, now, aware(row.start_at), aware(row.end_at))
            )
            row.state = "ENABLED"
            row.version += 1
            ctx.session.add(row)
        ctx.publish(
            ScheduleResumed(
                name=msg.name,
                namespace=msg.namespace,
                next_fire_at=aware(row.next_fire_at),
                request_id=msg.request_id,
            )
        )

    async def delete(self, msg: DeleteSchedule, ctx: HandlerContext[Any]) -> None:
        row = self._found(ctx, msg.name, msg.namespace, "delete", msg.request_id)
        if row is None:
            return
        ctx.session.exec(
            delete(ScheduleRunRow).where(col(ScheduleRunRow.schedule_id) == row.schedule_id)
        )
        ctx.session.delete(row)
        ctx.publish(
            ScheduleDeleted(name=msg.name, namespace=msg.namespace, request_id=msg.request_id)
        )

    def _found(
        self, ctx: HandlerContext[Any], name: str, namespace: str, command: str, request_id: str
    ) -> ScheduleRow | None:
        row = find(ctx.session, name, namespace)
        if row is None:
            self._reject(
                ctx,
                name,
                namespace,
                command,
                f"no schedule {name!r} in namespace {namespace!r} (see `headrace schedule list`)",
                request_id,
            )
        return row

    @staticmethod
    def _reject(
        ctx: HandlerContext[Any],
        name: str,
        namespace: str,
        command: str,
        reason: str,
        request_id: str,
    ) -> None:
        log.info("schedule %s/%s: %s rejected: %s", namespace, name, command, reason)
        ctx.publish(
            ScheduleRejected(
                name=name,
                namespace=namespace,
                command=command,
                reason=reason,
                request_id=request_id,
            )
        )


def utc_now() -> datetime:
    return datetime.now(UTC)
