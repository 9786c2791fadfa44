"""Pull requests to a durable JetStream consumer, one at a time, over an inbox of their own.

nats-py's ``PullSubscription.fetch`` waits for each message of a batch with
``Subscription.next_msg``, which makes a UUID and two tasks per message (a ``wait_for`` around
a queue read): at a few thousand messages a second that was the largest single cost on a
service's event loop. :class:`Pulls` speaks the same protocol (a ``CONSUMER.MSG.NEXT``
request whose reply subject is the inbox) and collects a batch in the inbox subscription's
callback, waking the fetch once, when its pull has ended.

A pull asks for up to ``batch`` messages with ``no_wait`` and an expiry of ``poll``
seconds. The server ends it with the ``batch``-th message, or with a status after fewer:
``404`` once it has delivered what there was (at least one, or it waits for one until the
expiry), ``408`` at the expiry with none, ``409`` when it will not serve the pull (the
consumer is deleted, too many pulls wait, its leader changed). ``100`` is a heartbeat.
Any other status is an error of the request, raised by :meth:`Pulls.fetch`.

A message that comes while no fetch waits (the rest of a pull whose fetch gave up, after a
reconnect) is kept and handed out by the next fetch, so nothing delivered is dropped.
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from .errors import PullFailed

__all__ = ["Pulls"]

STATUS = "Status"
HEARTBEAT = "100"
NO_RESPONDERS = "503"
ENDS = frozenset({"404", "408", "409"})
"""Statuses that end a pull without an error."""
GRACE = 1.0
"""Seconds a fetch waits past its pull's expiry for the server's answer."""


class Pulls:
    """Batches from the durable consumer ``durable`` of ``stream``, one pull at a time."""

    def __init__(
        self, connection: Client, stream: str, durable: str, *, batch: int, poll: float
    ) -> None:
        if batch < 1 or poll <= 0:
            raise ValueError(f"{durable}: a pull needs a batch of at least 1 and a poll > 0")
        self._connection = connection
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = connection.new_inbox()
        self._request = json.dumps(
            {"batch": batch, "no_wait": True, "expires": int(poll * 1e9)}
        ).encode()
        self._batch = batch
        self._poll = poll
        self._subscription: Subscription | None = None
        self._kept: list[Msg] = []
        self._ended: asyncio.Future[None] | None = None
        self._error: str | None = None

    async def open(self) -> None:
        self._subscription = await self._connection.subscribe(self._inbox, cb=self._arrived)

    async def close(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.unsubscribe()

    async def fetch(self) -> list[Msg]:
        """What the consumer delivers to one pull (empty if nothing came before the expiry);
        messages kept from earlier pulls first, without a new pull."""
        if self._kept:
            return self.take_kept()
        if self._subscription is None:
            raise RuntimeError("Pulls.fetch before open")
        ended = self._ended = asyncio.get_running_loop().create_future()
        self._error = None
        try:
            await self._connection.publish(self._next, self._request, reply=self._inbox)
            try:
                async with asyncio.timeout(self._poll + GRACE):
                    await ended
            except TimeoutError:  # no answer (a reconnect lost the pull): what came, if any
                pass
        finally:
            self._ended = None
        if self._error is not None and not self._kept:
            raise PullFailed(self._next, self._error)
        return self.take_kept()

    def take_kept(self) -> list[Msg]:
        """The messages delivered and not yet fetched (to give back when stopping)."""
        taken, self._kept = self._kept, []
        return taken

    async def _arrived(self, msg: Msg) -> None:
        headers = msg.headers
        status = None if msg.data or not headers else headers.get(STATUS)
        if headers is None or status is None:
            self._kept.append(msg)
            if len(self._kept) >= self._batch:
                self._end()
            return
        if status == HEARTBEAT:
            return
        if status not in ENDS:
            self._error = _describe(status, headers.get("Description", ""))
        self._end()

    def _end(self) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)


def _describe(status: str, description: str) -> str:
    if status == NO_RESPONDERS:
        return f"{status} no responders (the consumer or its stream does not exist)"
    first = description.strip().splitlines()[:1]
    return f"{status} {first[0]}" if first else status
