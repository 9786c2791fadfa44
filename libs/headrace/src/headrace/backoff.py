"""When to restart a process that died: exponential backoff, reset after a healthy run."""

from __future__ import annotations

import signal
from dataclasses import dataclass

INITIAL_DELAY = 0.5
MAX_DELAY = 30.0
RESET_AFTER = 60.0


def backoff_delay(
    failures: int, *, initial: float = INITIAL_DELAY, cap: float = MAX_DELAY
) -> float:
    """Delay before restart number ``failures + 1``: ``initial`` doubling, capped at ``cap``."""
    if failures < 0:
        raise ValueError(f"failures must be >= 0, got {failures}")
    # 2**64 is far beyond any cap; stop doubling before floats overflow.
    return float(min(cap, initial * 2 ** min(failures, 64)))


@dataclass
class Backoff:
    """Restart bookkeeping of one process.

    A process that ran at least ``reset_after`` seconds before dying counts as healthy, so
    its next restart starts again from ``initial``.
    """

    initial: float = INITIAL_DELAY
    cap: float = MAX_DELAY
    reset_after: float = RESET_AFTER
    failures: int = 0
    restarts: int = 0

    def next_delay(self, ran_for: float) -> float:
        if ran_for >= self.reset_after:
            self.failures = 0
        delay = backoff_delay(self.failures, initial=self.initial, cap=self.cap)
        self.failures += 1
        self.restarts += 1
        return delay


def describe_exit(returncode: int) -> str:
    """``-9`` -> ``"killed by signal SIGKILL"``, ``3`` -> ``"exited with code 3"``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by signal {name}"
    return f"exited with code {returncode}"
