"""The audit trail: each :class:`AuditRecorded` is written to the outbox (so it reaches the
bus even if the service dies right after) with its row in ``access_audit``, in one
transaction, and published at once."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from headrace_bus import Bus
from headrace_contracts import AuditRecorded, new_event_id
from headrace_runtime import OutboxRelay, outbox_row

from .tables import AuditRow, aware

log = logging.getLogger("headrace.metadata.audit")


def outcome_of(status: int, *, denied: bool) -> str:
    if denied:
        return "denied"
    return "succeeded" if status < 400 else "failed"


def audit_row(event: AuditRecorded, event_id: str) -> AuditRow:
    return AuditRow(
        event_id=event_id,
        at=event.at,
        actor=event.actor[:256],
        role=event.role,
        auth_method=event.auth_method,
        action=event.action[:300],
        target=event.target[:2000],
        status=event.status,
        outcome=event.outcome,
        reason=event.reason[:2000],
        request_id=event.request_id[:64],
        source_address=event.source_address[:64],
    )


def recorded(row: AuditRow) -> AuditRecorded:
    return AuditRecorded(
        actor=row.actor,
        role=row.role,
        auth_method=row.auth_method,
        action=row.action,
        target=row.target,
        status=row.status,
        outcome=row.outcome,
        reason=row.reason,
        at=aware(row.at),
        request_id=row.request_id,
        source_address=row.source_address,
    )


def recent(session: Session, *, limit: int, before: int | None = None) -> list[AuditRow]:
    """The newest ``limit`` audit rows (before row id ``before``), newest first."""
    statement = select(AuditRow).order_by(col(AuditRow.id).desc()).limit(limit)
    if before is not None:
        statement = statement.where(col(AuditRow.id) < before)
    return list(session.exec(statement).all())


class AuditTrail:
    """Records audit events of the HTTP API for the service whose ``engine`` and ``bus``
    these are (``source``: its CloudEvents source)."""

    def __init__(self, engine: Engine, bus: Bus, source: str) -> None:
        self._engine = engine
        self._relay = OutboxRelay(bus, engine)
        self._source = source

    async def record(self, event: AuditRecorded) -> None:
        event_id = await run_in_threadpool(self._write, event)
        try:
            await self._relay.publish([event_id])
        except Exception:  # the row stays in the outbox: the service's sweep sends it
            log.warning("audit event %s not published yet; the outbox sweep will", event_id)

    def _write(self, event: AuditRecorded) -> str:
        event_id = new_event_id()
        with Session(self._engine) as session:
            session.add(outbox_row(event, source=self._source, event_id=event_id))
            session.add(audit_row(event, event_id))
            session.commit()
        return event_id
