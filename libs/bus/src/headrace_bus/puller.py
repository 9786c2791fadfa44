"""The pull loop of a durable consumer: fetch a batch, hand it on, repeat until closed.

Why not FastStream's pull subscriber: it fetches with nats-py's ``fetch(n)``, and a pull
for more than one message lingers on the server until the batch fills or the pull expires,
so after an idle spell a lone message waited out the whole fetch timeout. Here each round
long-polls for *one* message (answered the moment one is published), then asks for the rest
of a batch with a pull that expires after ``linger`` seconds: under load the batch fills at
once, and a lone message waits at most ``linger`` more.

``workers`` loops share the consumer, each handling its own batch (a service whose handlers
wait on long work, such as running a step, handles that many messages at once). Closing
cancels every loop, those handling a batch too: a handler may be running a step that lasts
hours. What a cancelled handler was doing is rolled back, and its messages are given back to
the server at once (see `Dispatcher.handle_batch`) for another replica, or this one restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

log = logging.getLogger("headrace.bus")

BatchHandler = Callable[[list[Msg]], Awaitable[None]]


class Puller:
    def __init__(
        self,
        subscription: JetStreamContext.PullSubscription,
        handle: BatchHandler,
        *,
        name: str,
        batch_size: int,
        poll: float,
        linger: float,
        workers: int = 1,
    ) -> None:
        if batch_size < 1 or workers < 1:
            raise ValueError(f"{name}: batch size and workers must be at least 1")
        self._sub = subscription
        self._handle = handle
        self._name = name
        self._batch_size = batch_size
        self._poll = poll
        self._linger = linger
        self._workers = workers
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for index in range(self._workers):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"{self._name}-{index}"))

    async def close(self, *, grace: float = 10.0) -> None:
        """Stop fetching and cancel what is being handled; wait up to ``grace`` seconds for
        the handlers to give their messages back."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self._sub.unsubscribe()

    async def fetch(self) -> list[Msg]:
        """The next batch: waits up to ``poll`` for a first message (empty if none came)."""
        try:
            batch = await self._sub.fetch(1, timeout=self._poll)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        if self._batch_size > 1:
            with contextlib.suppress(nats.errors.TimeoutError, asyncio.TimeoutError):
                batch += await self._sub.fetch(self._batch_size - 1, timeout=self._linger)
        return batch

    async def _loop(self) -> None:
        while not self._closing:
            try:
                batch = await self.fetch()
            except asyncio.CancelledError:
                return
            except nats.errors.ConnectionClosedError:
                return
            except Exception as exc:  # reconnecting, a slow server: try again shortly
                log.warning("%s: fetching failed (%s); retrying", self._name, exc)
                await asyncio.sleep(min(self._poll, 1.0))
                continue
            if not batch:
                continue
            if self._closing:  # fetched while closing: give them back for another replica
                for msg in batch:
                    with contextlib.suppress(Exception):
                        await msg.nak()
                return
            try:
                await self._handle(batch)
            except asyncio.CancelledError:
                return
            except Exception:
                log.exception("%s: handling a batch of %d failed", self._name, len(batch))
