"""The scheduler's trigger tables: one row per trigger with its counters, and the count of
external events no trigger took.

Counters are bumped with ``SET n = n + 1`` in SQL, never read-modify-write, so scheduler
replicas handling events of one trigger at once do not lose counts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, select

from headrace_contracts import TriggerView


class TriggerRow(SQLModel, table=True):
    __tablename__ = "triggers"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    trigger_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=63)
    namespace: str = Field(max_length=63, index=True)
    event_type: str = Field(index=True, max_length=300)
    subject: str = Field(max_length=300)
    filter: str = Field(default="", sa_column=Column(Text))
    parameters: str = Field(default="{}", sa_column=Column(Text))
    pipeline_name: str = ""
    spec: str = Field(default="", sa_column=Column(Text))
    enable_caching: bool = True
    created_at: datetime
    events_matched: int = 0
    events_filtered: int = 0
    runs_started: int = 0
    events_rejected: int = 0
    last_error: str = Field(default="", sa_column=Column(Text))
    last_error_event_id: str = ""
    last_run_id: str = ""
    last_event_at: datetime | None = None


class TriggerCounter(SQLModel, table=True):
    __tablename__ = "trigger_counters"

    key: str = Field(primary_key=True, max_length=64)
    count: int = 0


TRIGGER_TABLES: list[type[SQLModel]] = [TriggerRow, TriggerCounter]
UNMATCHED = "unmatched_events"


def find(session: Session, namespace: str, name: str) -> TriggerRow | None:
    statement = select(TriggerRow).where(TriggerRow.namespace == namespace, TriggerRow.name == name)
    return session.exec(statement).first()


def of_type(session: Session, event_type: str) -> list[TriggerRow]:
    return list(session.exec(select(TriggerRow).where(TriggerRow.event_type == event_type)))


def listed(session: Session, namespace: str) -> list[TriggerRow]:
    statement = select(TriggerRow).where(TriggerRow.namespace == namespace)
    return list(session.exec(statement.order_by(TriggerRow.name)))


def bump(session: Session, trigger_id: str, at: datetime, **values: Any) -> None:
    """Add 1 to each counter named ``+counter`` in ``values``; set the other columns."""
    table = TriggerRow.__table__  # type: ignore[attr-defined]
    changes: dict[str, Any] = {"last_event_at": at}
    for key, value in values.items():
        if value == "+1":
            changes[key] = table.c[key] + 1
        else:
            changes[key] = value
    session.connection().execute(
        update(table).where(table.c.trigger_id == trigger_id).values(**changes)
    )


def count_unmatched(session: Session) -> None:
    table = TriggerCounter.__table__  # type: ignore[attr-defined]
    dialect = session.connection().dialect.name
    insert_fn = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_fn(table).values(key=UNMATCHED, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key], set_={"count": table.c.count + 1}
    )
    session.connection().execute(statement)


def unmatched(session: Session) -> int:
    row = session.get(TriggerCounter, UNMATCHED)
    return row.count if row is not None else 0


def view(row: TriggerRow) -> TriggerView:
    return TriggerView(
        trigger_id=row.trigger_id,
        name=row.name,
        namespace=row.namespace,
        pipeline_name=row.pipeline_name,
        event_type=row.event_type,
        subject=row.subject,
        filter=row.filter,
        parameters=json.loads(row.parameters or "{}"),
        created_at=row.created_at.isoformat(),
        events_matched=row.events_matched,
        events_filtered=row.events_filtered,
        runs_started=row.runs_started,
        events_rejected=row.events_rejected,
        last_error=row.last_error,
        last_error_event_id=row.last_error_event_id,
        last_run_id=row.last_run_id,
        last_event_at=row.last_event_at.isoformat() if row.last_event_at else "",
    )
