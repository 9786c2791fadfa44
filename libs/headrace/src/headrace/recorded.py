"""Waiting for a service to record what the client just sent it (a job, an experiment).

:func:`sent_and_answered` publishes the command and waits for the service's answer event
(recorded, or refused with a reason), as `Client.submit` does for runs; the client then reads
what was recorded once. :func:`until_recorded` polls, for commands no event answers (stopping
an experiment that may already be ending)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from headrace_bus import Bus, first_answer
from headrace_contracts import Message

T = TypeVar("T")


async def sent_and_answered(
    bus: Bus,
    send: Callable[[], Awaitable[None]],
    answers: Iterable[type[Message]],
    *,
    field: str,
    value: str,
    timeout: float,
) -> Message | None:
    """The first of ``answers`` whose ``field`` is ``value``, after ``send()``; None if none
    came within ``timeout`` seconds (it may have been lost with a dropped connection: the
    caller asks the service once before saying it did not record the command)."""
    try:
        return await first_answer(bus, send, answers, field=field, value=value, timeout=timeout)
    except TimeoutError:
        return None


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
