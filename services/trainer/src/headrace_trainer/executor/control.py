"""Stopping a running step: the handle the launcher uses to cancel or time out a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

__all__ = ["StepControl", "kill_group"]


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

    `cancel` may come before the process exists; `attach` then stops it at once. Once
    `exited` (also before `attach`, for a process known to have ended), nothing is signalled.
    """

    def __init__(self) -> None:
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
        if self.pid is not None and not self._exited:
            self._terminate()

    def kill_now(self) -> None:
        if self.pid is not None and not self._exited:
            kill_group(self.pid, signal.SIGKILL)

    def exited(self) -> None:
        self._exited = True
        if self._killer is not None:
            self._killer.cancel()
            self._killer = None

    def _terminate(self) -> None:
        assert self.pid is not None
        kill_group(self.pid, signal.SIGTERM)
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            self._killer = loop.call_later(self._grace, self.kill_now)
