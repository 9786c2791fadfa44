"""The event that answers a command: the client publishes a command carrying a fresh
``request_id`` and waits for the first event of the kinds that answer it (done, or
rejected with a reason) repeating that id. The subscriptions are made before the command
is sent, so an answer that comes at once is not missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

from nats.aio.msg import Msg

from headrace_bus import Bus
from headrace_contracts import Message, decode

__all__ = ["command_answer"]


async def command_answer(
    bus: Bus,
    send: Callable[[], Awaitable[None]],
    request_id: str,
    answers: Iterable[type[Message]],
    timeout: float,
) -> Message:
    """Subscribe to the ``answers`` events, ``await send()`` (which publishes the command),
    and return the first answer repeating ``request_id``. Raises :class:`TimeoutError` when
    none comes within ``timeout`` seconds; what ``send`` raises passes through."""
    answered: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
    marker = request_id.encode()

    async def on_event(msg: Msg) -> None:
        # Cheap test on the raw bytes first: most events on these subjects answer others.
        if marker not in msg.data or answered.done():
            return
        with contextlib.suppress(Exception):  # an event this client cannot decode is not ours
            found = decode(msg.headers, msg.data, bus.catalogue, subject=msg.subject).message
            if getattr(found, "request_id", "") == request_id:
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
