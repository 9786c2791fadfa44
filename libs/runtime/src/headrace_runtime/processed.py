"""Forgetting handled messages once they can no longer come back.

A consumer records the id of every message it handled (``headrace_processed_messages``) so
a redelivery is not handled twice. A record is needed only while the message can still be
delivered again: while the stream keeps it (its max age) or an outbox may publish it again.
Past ``retain_seconds`` the records are deleted, by :func:`prune_processed` run every
``interval`` seconds off the event loop by :class:`ProcessedPruner`.

The delete is cheap: it walks the ``processed_at`` index from the oldest record, in
transactions of about ``batch`` rows, so a large backlog never holds a long lock (SQLite
writers wait on each other) and stopping the service ends it after the current batch.
Records younger than the cut-off are never touched, so idempotency within the window holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, select

from .tables import ProcessedMessage, utcnow

__all__ = ["ProcessedPruner", "prune_processed"]

log = logging.getLogger("headrace.processed")

_table = ProcessedMessage.__table__  # type: ignore[attr-defined]


def prune_processed(
    engine: Engine,
    consumers: Sequence[str],
    before: datetime,
    *,
    batch: int = 1000,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Delete the records of ``consumers`` handled before ``before``, oldest first, about
    ``batch`` per transaction; the number deleted. Blocking: run it in a thread.

    Each transaction finds the ``batch``-th oldest record's time and deletes up to it: two
    range scans of the ``processed_at`` index (a batch of messages shares one time, so a
    transaction may take the rest of that batch too, never more)."""
    at = _table.c.processed_at
    old = and_(_table.c.consumer.in_(list(consumers)), at < before)
    boundary = select(at).where(old).order_by(at).offset(batch - 1).limit(1)
    any_old = select(at).where(old).limit(1)
    total = 0
    while not stop():
        with engine.connect() as connection:  # a pass with nothing to delete writes nothing
            last = connection.execute(boundary).scalar()
            if last is None and connection.execute(any_old).first() is None:
                break
            upto = old if last is None else and_(old, at <= last)
            total += connection.execute(delete(_table).where(upto)).rowcount
            connection.commit()
        if last is None:
            break
    return total


class ProcessedPruner:
    """Prunes a service's records at start and then every ``interval`` seconds."""

    def __init__(
        self,
        engine: Engine,
        consumers: Sequence[str],
        *,
        retain_seconds: float,
        interval: float,
        batch: int,
    ) -> None:
        self._engine = engine
        self._consumers = list(consumers)
        self._retain = timedelta(seconds=retain_seconds)
        self._interval = interval
        self._batch = batch
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="processed-prune")

    async def stop(self) -> None:
        """Stop after the batch in progress."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def prune(self) -> int:
        """One pass now (the records older than the window), in a worker thread."""
        return await asyncio.to_thread(
            prune_processed,
            self._engine,
            self._consumers,
            utcnow() - self._retain,
            batch=self._batch,
            stop=self._stopping.is_set,
        )

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                deleted = await self.prune()
            except Exception:
                log.exception("pruning handled-message records failed; trying again later")
            else:
                if deleted:
                    log.info("forgot %d handled messages older than %s", deleted, self._retain)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
