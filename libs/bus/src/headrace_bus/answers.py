"""The event that answers a command: a client publishes a command and waits for the first
event of the kinds that answer it (done, or refused with a reason) whose ``field`` repeats
the command's (its ``request_id``, or the ``run_id`` of a submitted run). Subscribing comes
before sending, on the same connection, so an answer that comes at once is not missed; no
question is asked over and over meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from nats.aio.msg import Msg

from headrace_contracts import Message, decode

from .bus import Bus

__all__ = ["first_answer"]


async def first_answer(
    bus: Bus,
    send: Callable[[], Awaitable[None]],
    answers: Iterable[type[Message]],
    *,
    field: str,
    value: str,
    timeout: float,
) -> Message:
    """Subscribe to the ``answers`` events, ``await send()`` (which publishes the command),
    and return the first answer whose ``field`` equals ``value``. Raises
    :class:`TimeoutError` when none comes within ``timeout`` seconds; what ``send`` raises
    passes through."""
    answered: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
    marker = value.encode()

    async def on_event(msg: Msg) -> None:
        # Cheap test on the raw bytes first: most events on these subjects answer others.
        if marker not in msg.data or answered.done():
            return
        with contextlib.suppress(Exception):  # an event this client cannot decode is not ours
            found = decode(msg.headers, msg.data, bus.catalogue, subject=msg.subject).message
            if getattr(found, field, None) == value:
                answered.set_result(found)

    subscriptions = [
        await bus.connection.subscribe(kind.subject(), cb=on_event) for kind in answers
    ]
    try:
        await send()
        return await asyncio.wait_for(answered, timeout)
    finally:
        for subscription in subscriptions:
            with contextlib.suppress(Exception):  # the connection may be closing
                await subscription.unsubscribe()
