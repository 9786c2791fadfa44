"""Stopping a running step: the handle the launcher uses to cancel or time out a process.

By default it signals the step's process group itself; given a ``stop`` (the launcher's:
`WorkloadBackend.stop` of the step's gang), it asks that instead, with the grace the
process has before it is killed (0: at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable

__all__ = ["StepControl", "Stop", "kill_group"]

Stop = Callable[[float], None]


def kill_group(pid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group led by ``pid``; False when it is gone."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


class StepControl:
    """One execution's process group, and whether (and why) it was cancelled.

    `cancel` may come before the process exists; `attach` then stops it at once (with a
    ``stop``, that is asked at once too: a gang waiting for its resources is stopped). Once
    `exited` (also before `attach`, for a process known to have ended), nothing is signalled.
    """

    def __init__(self, stop: Stop | None = None) -> None:
        self._stop = stop
        self.pid: int | None = None
        self.cancel_reason: str | None = None
        self.cancelled = asyncio.Event()
        self._grace = 10.0
        self._exited = False
        self._killer: asyncio.TimerHandle | None = None

    def attach(self, pid: int) -> None:
        self.pid = pid
        if self.cancel_reason is not None and not self._exited:
            self._terminate()

    def cancel(self, reason: str, grace_seconds: float = 10.0) -> None:
        if self.cancel_reason is not None:
            return
        self.cancel_reason = reason or "cancelled"
        self._grace = max(0.0, grace_seconds)
        self.cancelled.set()
        if (self.pid is not None or self._stop is not None) and not self._exited:
            self._terminate()

    def expire(self, grace_seconds: float) -> None:
        """The step ran past its timeout: SIGTERM now (so it can clean up, e.g. delete the
        training job it waits for), SIGKILL after ``grace_seconds``. Not a cancel: the step
        fails."""
        if self._exited or self.cancel_reason is not None:
            return
        self._grace = max(0.0, grace_seconds)
        if self.pid is not None or self._stop is not None:
            self._terminate()

    def kill_now(self) -> None:
        if self._exited:
            return
        if self._stop is not None:
            self._stop(0.0)
        elif self.pid is not None:
            kill_group(self.pid, signal.SIGKILL)

    def exited(self) -> None:
        self._exited = True
        if self._killer is not None:
            self._killer.cancel()
            self._killer = None

    def _terminate(self) -> None:
        if self._stop is not None:
            self._stop(self._grace)
            return
        assert self.pid is not None
        kill_group(self.pid, signal.SIGTERM)
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            self._killer = loop.call_later(self._grace, self.kill_now)
