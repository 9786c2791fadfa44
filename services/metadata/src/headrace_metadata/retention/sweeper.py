"""The periodic sweep: every ``interval_seconds``, the replica holding the database lock
(:mod:`.lock`) prunes what the configured policy selects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from headrace_artifacts import ArtifactStore
from headrace_contracts import PruneReport

from . import lock
from .policy import Policy
from .prune import prune
from .settings import RetentionSettings

__all__ = ["Sweeper", "locked_prune"]

log = logging.getLogger("headrace.metadata.retention")


class Busy(Exception):
    """Another replica holds the retention lock."""


def locked_prune(
    engine: Engine,
    holder: str,
    config: RetentionSettings,
    policy: Policy,
    *,
    dry_run: bool,
    store: Callable[[], ArtifactStore] | None,
    stop: Callable[[], bool] = lambda: False,
) -> PruneReport:
    """:func:`prune` under the lock, extended before each batch (a prune that lost it to
    another replica stops); :class:`Busy` when another replica holds it."""
    if not lock.acquire(engine, holder, config.lock_seconds):
        raise Busy

    def stopping() -> bool:
        return stop() or not lock.acquire(engine, holder, config.lock_seconds)

    try:
        return prune(
            engine,
            policy,
            datetime.now(UTC),
            dry_run=dry_run,
            batch=config.batch,
            store=store,
            stop=stopping,
        )
    finally:
        lock.release(engine, holder)


class Sweeper:
    """A background task started by :meth:`start`, ended (after its batch) by :meth:`stop`."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        holder: str,
        config: RetentionSettings,
        store: Callable[[], ArtifactStore],
    ) -> None:
        self._engine = engine
        self._holder = holder
        self._config = config
        self._store = store
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._config.policy().is_off:
            log.info("retention is off (set HEADRACE_METADATA_RETAIN_DAYS or _RUNS to turn it on)")
            return
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            await self._sweep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._config.interval_seconds)

    async def _sweep(self) -> None:
        config = self._config
        try:
            report = await asyncio.to_thread(
                locked_prune,
                self._engine(),
                self._holder,
                config,
                config.policy(),
                dry_run=False,
                store=self._store if config.delete_artifacts else None,
                stop=self._stopping.is_set,
            )
        except Busy:
            log.debug("retention: another replica is sweeping")
            return
        except Exception:
            log.exception("retention sweep failed; trying again in %ss", config.interval_seconds)
            return
        if report.runs:
            log.info(
                "retention removed %d finished runs (%d kept their lineage for registered models)",
                len(report.runs),
                len(report.kept_lineage),
            )
