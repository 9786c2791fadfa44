"""The pull loop of a durable consumer: fetch a batch, hand it on, repeat until closed.

Each round is one pull for up to ``batch_size`` messages, sent with ``no_wait`` and an expiry
of ``poll`` seconds (see :mod:`.pulls`). The server holds such a pull while the consumer has
nothing to deliver, and ends it as soon as it has delivered what there is: a lone message
after an idle spell is handed on at once, alone, and under load a batch takes everything
pending (up to ``batch_size``), with no wait for it to fill. (An earlier version long-polled
for one message and then waited up to a "linger" for more, which added that linger to every
message at low load.)

``workers`` loops share the consumer, each with pulls of its own and handling its own batch
(a service whose handlers wait on long work, such as running a step, handles that many
messages at once). Closing cancels every loop, those handling a batch too: a handler may be
running a step that lasts hours. What a cancelled handler was doing is rolled back, and its
messages are given back to the server at once (see `Dispatcher.handle_batch`) for another
replica, or this one restarted.

With ``prefetch`` a loop asks for its next batch as soon as it has one, and handles that one
meanwhile; the next is handled once this one is done (and acknowledged), so the order holds.
For a consumer whose handlers run off the event loop (a service's handling thread): the loop
is free to take in the next batch, and a message published while one is handled is already
delivered when the handling ends. Not for handlers that run long work: a fetched message
would wait behind it instead of going to another replica. Messages fetched ahead and not
handled when the loop stops are given back to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from .progress import keep_alive
from .pulls import Pulls

log = logging.getLogger("headrace.bus")

BatchHandler = Callable[[list[Msg]], Awaitable[None]]
Ahead = asyncio.Task[tuple[list[Msg], asyncio.Task[None] | None]]


class Puller:
    def __init__(
        self,
        connection: Client,
        stream: str,
        handle: BatchHandler,
        *,
        name: str,
        batch_size: int,
        poll: float,
        workers: int = 1,
        prefetch: bool = False,
        ack_wait: float = 30.0,
    ) -> None:
        if batch_size < 1 or workers < 1:
            raise ValueError(f"{name}: batch size and workers must be at least 1")
        self._connection = connection
        self._stream = stream
        self._handle = handle
        self._name = name
        self._batch_size = batch_size
        self._poll = poll
        self._workers = workers
        self._prefetch = prefetch
        self._ack_wait = ack_wait
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

    @staticmethod
    async def _fetch_ahead(
        pulls: Pulls, ack_wait: float
    ) -> tuple[list[Msg], asyncio.Task[None] | None]:
        """The next batch, and the task keeping it alive (see `keep_alive`) until the loop
        takes it: the batch being handled meanwhile may outlast the server's ack wait."""
        batch = await pulls.fetch()
        if not batch:
            return batch, None
        return batch, asyncio.create_task(keep_alive(ack_wait, *batch))

    @staticmethod
    async def _next(pulls: Pulls, ahead: Ahead | None) -> list[Msg]:
        if ahead is None:
            return await pulls.fetch()
        batch, holding = await ahead
        await _stop(holding)
        return batch

    async def _loop(self) -> None:
        pulls = Pulls(
            self._connection,
            self._stream,
            self._name,
            batch=self._batch_size,
            poll=self._poll,
        )
        while True:  # subscribing to its inbox fails only while the connection is down
            try:
                await pulls.open()
                break
            except asyncio.CancelledError:
                return
            except nats.errors.ConnectionClosedError:
                return
            except Exception as exc:
                log.warning("%s: subscribing failed (%s); retrying", self._name, exc)
                await asyncio.sleep(min(self._poll, 1.0))
        ahead: Ahead | None = None
        try:
            while not self._closing:
                try:
                    batch = await self._next(pulls, ahead)
                except asyncio.CancelledError:
                    return
                except nats.errors.ConnectionClosedError:
                    return
                except Exception as exc:  # reconnecting, a slow server: try again shortly
                    ahead = None
                    log.warning("%s: fetching failed (%s); retrying", self._name, exc)
                    await asyncio.sleep(min(self._poll, 1.0))
                    continue
                ahead = None
                if not batch:
                    continue
                if self._closing:  # fetched while closing: give them back for another replica
                    await _give_back(batch)
                    return
                if self._prefetch:
                    ahead = asyncio.create_task(
                        self._fetch_ahead(pulls, self._ack_wait), name=f"{self._name}-ahead"
                    )
                try:
                    await self._handle(batch)
                except asyncio.CancelledError:
                    return
                except Exception:
                    log.exception("%s: handling a batch of %d failed", self._name, len(batch))
        finally:
            if ahead is not None:  # it may have ended with messages before it was cancelled
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    batch, holding = await ahead
                    await _stop(holding)
                    await _give_back(batch)
            await _give_back(pulls.take_kept())
            with contextlib.suppress(Exception):
                await pulls.close()


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _give_back(batch: list[Msg]) -> None:
    for msg in batch:
        with contextlib.suppress(Exception):
            await msg.nak()
