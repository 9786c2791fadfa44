"""Following a step's process that another trainer started: waiting for it without being
its parent, and reading its exit code from the exit record its parent writes.

Waits on a pidfd (``os.pidfd_open``, readable once the process ends) through the event
loop, or polls ``/proc`` where pidfds are not available.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from .errors import StepLost
from .forkserver.records import process_state, read_record

__all__ = ["Adopted", "alive"]

POLL_SECONDS = 0.1
RECORD_POLL_SECONDS = 0.01


def alive(pid: int, start: int) -> bool:
    """Whether process ``pid`` started at ``start`` still exists (a zombie counts: its
    parent has yet to record and reap it)."""
    state = process_state(pid)
    return state is not None and state[0] == start


class Adopted:
    """A `Running` for process ``pid`` (started at ``start`` ticks) whose parent writes its
    exit record at ``exit_record``."""

    def __init__(self, pid: int, start: int, exit_record: Path) -> None:
        self._pid = pid
        self._start = start
        self._exit_record = exit_record

    @property
    def pid(self) -> int:
        return self._pid

    async def wait(self) -> int:
        """The exit code; `StepLost` when the process is gone and no record says how."""
        await self._ended()
        while True:
            code = self.recorded()
            if code is not None:
                return code
            if not alive(self._pid, self._start):
                # Its parent writes the record before reaping: gone without one, it died too.
                code = self.recorded()
                if code is not None:
                    return code
                raise StepLost(
                    f"process {self._pid} ended while no trainer watched it, and nobody "
                    "recorded its exit (its parent died too)"
                )
            await asyncio.sleep(RECORD_POLL_SECONDS)

    def recorded(self) -> int | None:
        found = read_record(str(self._exit_record))
        if found is None or found.get("pid") != self._pid:
            return None
        return int(found["exit"])

    async def _ended(self) -> None:
        try:
            fd = os.pidfd_open(self._pid)
        except (AttributeError, OSError):
            fd = -1
        if fd < 0 or not alive(self._pid, self._start):
            if fd >= 0:
                os.close(fd)
            # Another process's state, which nothing here can be notified of: poll it.
            while alive(self._pid, self._start) and self.recorded() is None:  # noqa: ASYNC110
                await asyncio.sleep(POLL_SECONDS)
            return
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not ended.done():
                ended.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await ended
        finally:
            loop.remove_reader(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
