"""Compacting finished runs: what the scheduler keeps of a run once nothing can change it.

While a run is going, its row holds the pipeline spec (``spec``) and the whole state of its
machine (``document``): every node's inputs, a loop's items and children, cache keys. Once
the run has ended none of that is read again: a finished run's events are ignored, and all
that is still asked of it is ``GetRun`` (``headrace run get|wait|logs``, the client). So a
run that finished and was created more than ``after_seconds`` ago is rewritten to what
``GetRun`` shows (:func:`compact`, pure) and its spec dropped (:func:`compact_finished`);
``GetRun`` answers the same view as before. The step cache is a table of its own and keeps
serving the run's outputs to later runs.

The pass runs every ``interval_seconds`` in a worker thread: it reads and rewrites a batch
of runs outside any transaction, then saves the batch in one short transaction with the same
optimistic lock as every save (a row changed meanwhile is left for the next pass).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, Row, and_, select, tuple_, update

from headrace_contracts.run_views import RUN_FINAL_STATES

from .state import Node, RunState
from .store import RunRow

__all__ = [
    "CompactionSettings",
    "Compactor",
    "compact",
    "compact_document",
    "compact_finished",
]

log = logging.getLogger("headrace.scheduler.compaction")

_table = RunRow.__table__  # type: ignore[attr-defined]

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


def compact_document(run: RunState) -> str:
    """The stored text of the compacted ``run``: fields at their defaults are left out (they
    read back the same), which alone halves a large run's document."""
    return compact(run).model_dump_json(exclude_defaults=True)


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
        _table.c.created_at < before,
        _table.c.state.in_(sorted(RUN_FINAL_STATES)),
        _table.c.spec != "",
    )
    order = (_table.c.created_at, _table.c.run_id)
    columns = (_table.c.run_id, _table.c.version, _table.c.document, _table.c.created_at)
    total = 0
    after: tuple[datetime, str] | None = None
    while not stop():
        query = select(*columns).where(due).order_by(*order).limit(batch)
        if after is not None:  # past the last batch, even if some of it was left as it was
            query = query.where(tuple_(*order) > tuple_(*after))
        with engine.connect() as connection:
            rows = list(connection.execute(query))
        if not rows:
            break
        after = (rows[-1].created_at, rows[-1].run_id)
        with engine.begin() as connection:
            for run_id, version, document in _compacted(rows):
                saved = connection.execute(
                    update(_table)
                    .where(_table.c.run_id == run_id, _table.c.version == version)
                    .values(version=version + 1, document=document, spec="")
                )
                total += saved.rowcount  # 0: changed meanwhile, seen again by the next pass
        if len(rows) < batch:
            break
    return total


def _compacted(rows: Sequence[Row[Any]]) -> list[tuple[str, int, str]]:
    changes = []
    for row in rows:
        try:
            run = RunState.model_validate_json(row.document)
        except ValueError:
            # Unreadable: left as it is, so GetRun keeps showing what the row says.
            log.warning("run %s: its stored state does not parse; not compacted", row.run_id)
            continue
        changes.append((row.run_id, row.version, compact_document(run)))
    return changes


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
