"""The scheduler's tables: one row per run (its state document) and the step cache.

A run's state is saved with optimistic locking (``version``), so two scheduler replicas
handling events of the same run never overwrite each other: the loser retries.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel

from .state import RunState


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    run_id: str = Field(primary_key=True)
    state: str = Field(index=True)
    version: int = 0
    experiment: str = Field(default="", index=True)
    display_name: str = ""
    pipeline_name: str = ""
    error: str = Field(default="", sa_column=Column(Text))
    created_at: datetime = Field(index=True)
    spec: str = Field(default="", sa_column=Column(Text))
    document: str = Field(default="", sa_column=Column(Text))


class CacheEntry(SQLModel, table=True):
    __tablename__ = "step_cache"

    cache_key: str = Field(primary_key=True)
    run_id: str
    step_id: str
    outputs: str = Field(sa_column=Column(Text))
    created_at: datetime


TABLES: list[type[SQLModel]] = [RunRow, CacheEntry]


class StaleRun(Exception):
    """Another replica changed the run meanwhile; the message is retried."""


def load(session: Session, run_id: str) -> tuple[RunRow, RunState] | None:
    row = session.get(RunRow, run_id)
    if row is None:
        return None
    return row, RunState.model_validate_json(row.document)


def save(session: Session, row: RunRow, run: RunState) -> None:
    table = RunRow.__table__  # type: ignore[attr-defined]
    result = session.connection().execute(
        update(table)
        .where(table.c.run_id == row.run_id, table.c.version == row.version)
        .values(
            version=row.version + 1,
            state=run.state,
            error=run.error,
            document=run.model_dump_json(),
        )
    )
    if result.rowcount != 1:
        raise StaleRun(f"run {row.run_id} changed while handling this message; retrying")


def cached_outputs(session: Session, key: str) -> CacheEntry | None:
    return session.get(CacheEntry, key)


def remember(
    session: Session, key: str, run_id: str, step_id: str, outputs: dict[str, Any], at: datetime
) -> None:
    """Record (or replace) the cache entry; an upsert, as runs may finish the same step at once."""
    table = CacheEntry.__table__  # type: ignore[attr-defined]
    values = {
        "cache_key": key,
        "run_id": run_id,
        "step_id": step_id,
        "outputs": json.dumps(outputs),
        "created_at": at,
    }
    dialect = session.connection().dialect.name
    insert_fn = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_fn(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.cache_key],
        set_={k: v for k, v in values.items() if k != "cache_key"},
    )
    session.connection().execute(statement)


def forget(session: Session, key: str) -> None:
    entry = session.get(CacheEntry, key)
    if entry is not None:
        session.delete(entry)
