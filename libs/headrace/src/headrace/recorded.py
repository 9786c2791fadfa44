"""Waiting for a service to record what the client just sent it (a job, an experiment)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until_recorded(
    find: Callable[[], T | None], timeout: float, refused: Callable[[], Exception]
) -> T:
    """What ``find`` returns once it is not None, polling with a growing pause (20 ms up to
    250 ms); ``refused()`` is raised after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while (found := find()) is None:
        if time.monotonic() > deadline:
            raise refused()
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
    return found
