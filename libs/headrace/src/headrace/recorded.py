"""Waiting for a service to record what the client just sent it (a job, an experiment).

:func:`recorded_after_answer` publishes the command and waits for the service's answer event
(recorded, or refused with a reason), as `Client.submit` does for runs, then reads what was
recorded once. :func:`until_recorded` polls, for commands no event answers (stopping an
experiment that may already be ending)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Protocol, TypeVar

from headrace_bus import Bus, first_answer
from headrace_contracts import Message

T = TypeVar("T")


class Sender(Protocol):
    """What of :class:`headrace.Client` sending a command needs."""

    submit_timeout: float

    def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
    async def _publish(self, message: Message) -> None: ...
    async def _connected(self) -> Bus: ...


def recorded_after_answer(
    client: Sender,
    command: Message,
    answers: Iterable[type[Message]],
    *,
    field: str,
    find: Callable[[], T | None],
    refused: Callable[[], Exception],
) -> T:
    """Publish ``command``, wait up to ``client.submit_timeout`` for the first of ``answers``
    whose ``field`` repeats the command's, then ``find()`` what the service recorded, once.
    With no answer in time it still looks once (the answer may have been lost with a dropped
    connection); ``refused()`` is raised when nothing is recorded."""
    value = getattr(command, field)

    async def send() -> None:
        with contextlib.suppress(TimeoutError):
            await first_answer(
                await client._connected(),
                lambda: client._publish(command),
                answers,
                field=field,
                value=value,
                timeout=client.submit_timeout,
            )

    client._call(send())
    found = find()
    if found is None:
        raise refused()
    return found


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
