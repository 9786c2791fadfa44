"""Compacting finished runs: what the scheduler keeps of a run once nothing can change it.

While a run is going, the scheduler keeps its pipeline spec (``runs.spec``), its own fields
(``runs.document``) and the whole state of each node of its machine (``run_nodes``): every
node's inputs, a loop's items and children, cache keys. Once the run has ended none of that
is read again: a finished run's events are ignored, and all that is still asked of it is
``GetRun`` (``headrace run get|wait|logs``, the client). So a run that finished and was
created more than ``after_seconds`` ago is rewritten to what ``GetRun`` shows
(:func:`compact`, pure), its spec dropped (:func:`compact_finished`); ``GetRun`` answers
the same view as before. The step cache is a table of its own and keeps serving the run's
outputs to later runs.

The pass runs every ``interval_seconds`` in a worker thread: it reads and rewrites a batch
of runs outside any transaction, then saves the batch in one short transaction with the same
optimistic lock as every save (a run changed meanwhile is left for the next pass).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, and_, delete, insert, select, tuple_, update
from sqlmodel import Session

from headrace_contracts.run_views import RUN_FINAL_STATES

from . import store
from .state import Node, RunState
from .store import NodeRow, RunRow

__all__ = [
    "CompactionSettings",
    "Compactor",
    "compact",
    "compact_finished",
    "compacted_rows",
]

log = logging.getLogger("headrace.scheduler.compaction")

_runs = RunRow.__table__  # type: ignore[attr-defined]
_nodes = NodeRow.__table__  # type: ignore[attr-defined]

# What GetRun's view of a step reads (headrace_scheduler.views.step_view), and what says
# whether a step failed; the rest of a node (inputs, children, loop items) only drives the run.
_KEPT_NODE_FIELDS = frozenset(
    {
        "id",
        "task",
        "kind",
        "scope",
        "component",
        "state",
        "attempt",
        "out_parameters",
        "out_artifacts",
        "reason",
        "exit_code",
        "upstream_failed",
        "log_uri",
        "worker",
        "cached",
        "cache_source",
        "started_at",
        "finished_at",
        "duration",
    }
)


class CompactionSettings(BaseSettings):
    """``HEADRACE_SCHEDULER_COMPACT_AFTER_SECONDS``: compact finished runs created longer ago
    (default 604800, 7 days; 0 turns compaction off); ``_INTERVAL_SECONDS``: how often
    (default 3600); ``_BATCH``: runs per transaction (default 50)."""

    model_config = SettingsConfigDict(env_prefix="HEADRACE_SCHEDULER_COMPACT_", extra="ignore")

    after_seconds: float = Field(default=7 * 86400.0, ge=0)
    interval_seconds: float = Field(default=3600.0, gt=0)
    batch: int = Field(default=50, ge=1)


def compact(run: RunState) -> RunState:
    """The finished ``run`` as ``GetRun`` shows it, without what only its machine needed."""
    nodes = {
        node_id: Node.model_validate(node.model_dump(include=set(_KEPT_NODE_FIELDS)))
        for node_id, node in run.nodes.items()
        if node_id  # the root DAG ("") is not shown
    }
    return run.model_copy(update={"nodes": nodes})


@dataclass(frozen=True)
class _Compacted:
    run_id: str
    version: int
    document: str
    nodes: list[dict[str, Any]]


def compacted_rows(run: RunState) -> tuple[str, list[tuple[str, int, str]]]:
    """The stored text of the compacted ``run``: its own document (without nodes, with a new
    revision) and one ``(node_id, seq, document)`` per node kept. Fields at their defaults are
    left out (they read back the same), which alone halves a large run."""
    small = compact(run)
    small.revision = uuid.uuid4().hex
    nodes = [
        (
            node_id,
            RunState.order_of(run.nodes[node_id]),
            node.model_dump_json(exclude_defaults=True),
        )
        for node_id, node in small.nodes.items()
    ]
    return small.model_dump_json(exclude={"nodes"}, exclude_defaults=True), nodes


def compact_finished(
    engine: Engine,
    before: datetime,
    *,
    batch: int = 50,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Compact the finished runs created before ``before`` that are not compacted yet (their
    spec is still there), oldest first, ``batch`` per transaction; the number compacted.
    Blocking: run it in a thread."""
    due = and_(
        _runs.c.created_at < before,
        _runs.c.state.in_(sorted(RUN_FINAL_STATES)),
        _runs.c.spec != "",
    )
    order = (_runs.c.created_at, _runs.c.run_id)
    total = 0
    after: tuple[datetime, str] | None = None
    while not stop():
        query = select(*order).where(due).order_by(*order).limit(batch)
        if after is not None:  # past the last batch, even if some of it was left as it was
            query = query.where(tuple_(*order) > tuple_(*after))
        with Session(engine) as session:
            keys = list(session.connection().execute(query))
            changes = [found for key in keys if (found := _compacted(session, key.run_id))]
        if not keys:
            break
        after = (keys[-1].created_at, keys[-1].run_id)
        with engine.begin() as connection:
            for change in changes:
                total += _save(connection, change)
        if len(keys) < batch:
            break
    return total


def _compacted(session: Session, run_id: str) -> _Compacted | None:
    try:
        found = store.load(session, run_id)
    except ValueError:
        # Unreadable: left as it is, so GetRun keeps showing what the row says.
        log.warning("run %s: its stored state does not parse; not compacted", run_id)
        return None
    if found is None:
        return None
    stored, run = found
    document, nodes = compacted_rows(run)
    rows = [
        {"run_id": run_id, "node_id": node_id, "seq": seq, "document": text}
        for node_id, seq, text in nodes
    ]
    return _Compacted(run_id, stored.version, document, rows)


def _save(connection: Connection, change: _Compacted) -> int:
    """Save one compacted run if nobody changed it since it was read (1), else nothing (0:
    the next pass sees it again). Its node rows are replaced by the compacted ones (a run
    saved whole, before nodes had rows, gets rows now)."""
    saved = connection.execute(
        update(_runs)
        .where(_runs.c.run_id == change.run_id, _runs.c.version == change.version)
        .values(version=change.version + 1, document=change.document, spec="")
    )
    if saved.rowcount != 1:
        return 0
    connection.execute(delete(_nodes).where(_nodes.c.run_id == change.run_id))
    if change.nodes:
        connection.execute(insert(_nodes), change.nodes)
    return 1


class Compactor:
    """Compacts at start and then every ``interval_seconds``; off when ``after_seconds`` is 0."""

    def __init__(self, engine: Callable[[], Engine], config: CompactionSettings) -> None:
        self._engine = engine
        self._config = config
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._config.after_seconds:
            log.info(
                "compaction of finished runs is off (HEADRACE_SCHEDULER_COMPACT_AFTER_SECONDS)"
            )
            return
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="compaction")

    async def stop(self) -> None:
        """Stop after the batch in progress."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def compact(self, now: datetime) -> int:
        """One pass: the finished runs created more than ``after_seconds`` before ``now``."""
        return await asyncio.to_thread(
            compact_finished,
            self._engine(),
            now - timedelta(seconds=self._config.after_seconds),
            batch=self._config.batch,
            stop=self._stopping.is_set,
        )

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self.compact(datetime.now(UTC))
            except Exception:
                log.exception("compacting finished runs failed; trying again later")
            else:
                if done:
                    log.info("compacted %d finished runs", done)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._config.interval_seconds)
