"""The scheduler's tables: one row per run (its state document) and the step cache.

A run's state is saved with optimistic locking (``version``), so two scheduler replicas
handling events of the same run never overwrite each other: the loser retries.
"""

from __future__ import annotations

import json
from collections import OrderedDict
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

    retryable = True


class StateCache:
    """Parsed run states, reused while the stored document is byte-for-byte the same.

    Parsing a large run's document is the scheduler's main cost per event; comparing it with
    the text it was parsed from is almost free. An entry is trusted only when the stored
    text equals the cached text, so a rolled-back save or another replica's write is never
    mistaken for the cached state; a handler that fails mid-way drops its run's entry.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[str, RunState]] = OrderedDict()

    def get(self, run_id: str, document: str) -> RunState | None:
        entry = self._entries.get(run_id)
        if entry is None or entry[0] != document:
            return None
        self._entries.move_to_end(run_id)
        return entry[1]

    def put(self, run_id: str, document: str, run: RunState) -> None:
        self._entries[run_id] = (document, run)
        self._entries.move_to_end(run_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, run_id: str) -> None:
        self._entries.pop(run_id, None)


def load(
    session: Session, run_id: str, cache: StateCache | None = None
) -> tuple[RunRow, RunState] | None:
    row = session.get(RunRow, run_id)
    if row is None:
        return None
    run = cache.get(run_id, row.document) if cache else None
    if run is None:
        run = RunState.model_validate_json(row.document)
    return row, run


def salvage(row: RunRow) -> tuple[RunState, str]:
    """The run's state, or, when its stored document no longer parses, what the row's own
    columns still say, with the parse error as the second item ("" when all is well)."""
    try:
        return RunState.model_validate_json(row.document), ""
    except ValueError as exc:
        problem = (str(exc).strip().splitlines() or [""])[0]
        run = RunState(
            run_id=row.run_id,
            pipeline_name=row.pipeline_name,
            display_name=row.display_name,
            experiment=row.experiment,
            created_at=row.created_at.isoformat(),
            state=row.state,
            error=row.error or f"the scheduler cannot read this run's stored state ({problem})",
        )
        return run, problem


def save(session: Session, row: RunRow, run: RunState, cache: StateCache | None = None) -> None:
    document = run.model_dump_json()
    table = RunRow.__table__  # type: ignore[attr-defined]
    result = session.connection().execute(
        update(table)
        .where(table.c.run_id == row.run_id, table.c.version == row.version)
        .values(
            version=row.version + 1,
            state=run.state,
            error=run.error,
            document=document,
        )
    )
    if result.rowcount != 1:
        raise StaleRun(f"run {row.run_id} changed while handling this message; retrying")
    if cache is not None:
        cache.put(row.run_id, document, run)


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
