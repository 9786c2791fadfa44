"""The scheduler's tables: one row per run (its own fields), one per node of its DAG, and
the step cache.

Handling an event writes the run's row and the rows of the nodes the event changed, so its
cost does not grow with the run's size. A run's state is saved with optimistic locking
(``version`` on the run's row), so two scheduler replicas handling events of the same run
never overwrite each other: the loser retries.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel

from .state import Node, RunState


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


class NodeRow(SQLModel, table=True):
    """One node of a run's DAG (a step, DAG, loop or iteration) as JSON; ``seq`` keeps the
    order the nodes were created in."""

    __tablename__ = "run_nodes"

    run_id: str = Field(primary_key=True)
    node_id: str = Field(primary_key=True)
    seq: int = 0
    document: str = Field(default="", sa_column=Column(Text))


class CacheEntry(SQLModel, table=True):
    __tablename__ = "step_cache"

    cache_key: str = Field(primary_key=True)
    run_id: str
    step_id: str
    outputs: str = Field(sa_column=Column(Text))
    created_at: datetime


TABLES: list[type[SQLModel]] = [RunRow, NodeRow, CacheEntry]


class StaleRun(Exception):
    """Another replica changed the run meanwhile; the message is retried."""

    retryable = True


class StateCache:
    """Parsed run states, reused while the stored run is the very one they were saved as.

    Reading and parsing a run's nodes is the scheduler's main cost per event; reading its
    small run document is almost free. An entry is trusted only when the stored run document
    (which carries a revision new at every save) equals the cached text, so a rolled-back
    save or another replica's write is never mistaken for the cached state; a handler that
    fails mid-way drops its run's entry. The cache holds at most ``max_nodes`` nodes in all
    (the least recently used runs go first), so many small runs fit as well as one large.
    """

    def __init__(self, max_nodes: int = 50_000) -> None:
        self._max_nodes = max_nodes
        self._nodes = 0
        self._entries: OrderedDict[str, tuple[str, RunState, int]] = OrderedDict()

    def get(self, run_id: str, document: str) -> RunState | None:
        entry = self._entries.get(run_id)
        if entry is None or entry[0] != document:
            return None
        self._entries.move_to_end(run_id)
        return entry[1]

    def put(self, run_id: str, document: str, run: RunState) -> None:
        self.drop(run_id)
        weight = len(run.nodes) + 1
        self._entries[run_id] = (document, run, weight)
        self._nodes += weight
        while self._nodes > self._max_nodes and len(self._entries) > 1:
            _, (_, _, dropped) = self._entries.popitem(last=False)
            self._nodes -= dropped

    def drop(self, run_id: str) -> None:
        entry = self._entries.pop(run_id, None)
        if entry is not None:
            self._nodes -= entry[2]


@dataclass
class Stored:
    """The stored run a state was loaded from: what saving it over that run needs."""

    run_id: str
    version: int


_runs = RunRow.__table__  # type: ignore[attr-defined]
_nodes = NodeRow.__table__  # type: ignore[attr-defined]


def exists(session: Session, run_id: str) -> bool:
    """Whether the run is stored, or added in this transaction (the ORM flushes it first)."""
    return session.get(RunRow, run_id) is not None


def load(
    session: Session, run_id: str, cache: StateCache | None = None, *, nodes: bool = True
) -> tuple[Stored, RunState] | None:
    """The run's state, parsed (or from ``cache`` while still the stored one); ``None`` for
    no such run. Raises ``ValueError`` when what is stored no longer parses. With ``nodes``
    False only the run's own fields are read (a state not to be saved).

    Core statements, not the ORM: the session's identity map would hand back a row as it was
    before an earlier message of the same batch saved it."""
    found = (
        session.connection()
        .execute(select(_runs.c.version, _runs.c.document).where(_runs.c.run_id == run_id))
        .first()
    )
    if found is None:
        return None
    version, document = found
    run = cache.get(run_id, document) if cache else None
    if run is None:
        run = RunState.model_validate_json(document)
        if run.nodes:  # saved whole, before nodes had rows: save them all as rows next time
            run.touch_all()
        elif nodes:
            run.attach(_read_nodes(session, run_id, strict=True))
        if cache is not None and nodes:
            cache.put(run_id, document, run)
    return Stored(run_id, version), run


def _read_nodes(session: Session, run_id: str, *, strict: bool) -> list[tuple[int, Node]]:
    rows = session.connection().execute(
        select(_nodes.c.seq, _nodes.c.document).where(_nodes.c.run_id == run_id)
    )
    nodes = []
    for seq, document in rows:
        try:
            nodes.append((seq, Node.model_validate_json(document)))
        except ValueError:
            if strict:
                raise
    return nodes


def spec(session: Session, run_id: str) -> str:
    found = session.connection().execute(select(_runs.c.spec).where(_runs.c.run_id == run_id))
    return str(found.scalar_one())


def salvage(
    session: Session, run_id: str, *, nodes: bool = True
) -> tuple[Stored, RunState, str] | None:
    """The run's state, or, when what is stored no longer parses, what the row's own columns
    and the nodes that still parse say, with the parse error as the third item ("" when all
    is well); ``None`` for no such run."""
    try:
        found = load(session, run_id, nodes=nodes)
    except ValueError as exc:
        problem = (str(exc).strip().splitlines() or [""])[0]
    else:
        return None if found is None else (*found, "")
    row = session.connection().execute(select(_runs).where(_runs.c.run_id == run_id)).one()
    run = RunState(
        run_id=row.run_id,
        pipeline_name=row.pipeline_name,
        display_name=row.display_name,
        experiment=row.experiment,
        created_at=row.created_at.isoformat(),
        state=row.state,
        error=row.error or f"the scheduler cannot read this run's stored state ({problem})",
    )
    if nodes:
        run.attach(_read_nodes(session, run_id, strict=False))
    return Stored(run_id, row.version), run, problem


def run_document(run: RunState) -> str:
    """The run's own fields (its nodes have rows of their own), with a new revision."""
    run.revision = uuid.uuid4().hex
    return run.model_dump_json(exclude={"nodes"})


def save(session: Session, stored: Stored, run: RunState, cache: StateCache | None = None) -> None:
    """Save the run's own fields and the nodes changed since it was loaded (or saved), if
    nobody saved the run meanwhile (else :class:`StaleRun`). The run row is written first,
    so a replica that lost the race has written nothing when it finds out."""
    document = run_document(run)
    connection = session.connection()
    result = connection.execute(
        update(_runs)
        .where(_runs.c.run_id == stored.run_id, _runs.c.version == stored.version)
        .values(version=stored.version + 1, state=run.state, error=run.error, document=document)
    )
    if result.rowcount != 1:
        raise StaleRun(f"run {stored.run_id} changed while handling this message; retrying")
    stored.version += 1
    changed = sorted(run.take_changes())
    if changed:
        rows = [
            {
                "run_id": stored.run_id,
                "node_id": node_id,
                "seq": RunState.order_of(run.nodes[node_id]),
                "document": run.nodes[node_id].model_dump_json(),
            }
            for node_id in changed
        ]
        connection.execute(_upsert(connection.dialect.name, _nodes, ["run_id", "node_id"]), rows)
    if cache is not None:
        cache.put(stored.run_id, document, run)


def _upsert(dialect: str, table: Any, keys: list[str]) -> Any:
    insert_fn = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_fn(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={"document": statement.excluded.document},
    )


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
