"""A running step's log copied to the artifact store while it runs (under the key its final
copy takes), so the dashboard can show it before the step ends.

Copied each :data:`LIVE_LOG_SECONDS` the file has grown, never before the first interval
(a step that ends sooner costs nothing), and stopped, waiting for a copy in flight, before
the final copy is written: a late periodic copy never replaces the whole log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from headrace_artifacts import ArtifactStore, ArtifactStoreError

__all__ = ["LIVE_LOG_SECONDS", "LiveLog"]

LIVE_LOG_SECONDS = 1.0
log = logging.getLogger("headrace.trainer.executor")


class LiveLog:
    """Copies ``path`` to ``key`` of ``store`` from :meth:`start` until :meth:`stop`."""

    def __init__(
        self, store: ArtifactStore, path: Path, key: str, every: float = LIVE_LOG_SECONDS
    ) -> None:
        self._store, self._path, self._key, self._every = store, path, key, every
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._copy())

    async def stop(self) -> None:
        """Stop copying; returns once no copy is being written."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _copy(self) -> None:
        size = -1
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)
            if self._stopping.is_set():
                return
            try:
                now = os.stat(self._path).st_size
            except OSError:
                continue
            if now == size:
                continue
            size = now
            try:
                await asyncio.to_thread(self._store.put_file, self._path, self._key, sync=False)
            except ArtifactStoreError as error:
                log.warning("the running log %s could not be copied: %s", self._path, error)
