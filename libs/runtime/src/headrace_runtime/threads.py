"""Threads of a service that run coroutines off its event loop, each on an event loop of its own.

A service's handlers and query responders are ``async`` functions whose database work is
synchronous (SQLModel sessions). Run on the service's event loop, that work holds up
everything else the loop does: fetching, acknowledging, publishing, answering queries. A
:class:`LoopThread` runs such coroutines on a loop in another thread instead, so the blocking
calls block only that thread. What they ``await`` still works: a bus call made there is sent
through the service's own loop (see ``headrace_bus.Bus.on_loop``), and ``asyncio.to_thread``
and timers run on the thread's loop.

Coroutines on one :class:`LoopThread` interleave at their ``await`` points only, exactly as
they did on the service's loop, so handlers written for one loop keep their guarantees (no
other handler runs between two lines without an ``await``). A :class:`LoopPool` spreads
calls over a few such threads, for reads that may run side by side.

Only one thread runs Python at a time. A thread that wants the interpreter while another
runs Python waits until that one blocks (on a socket, in SQLite) or for the switch interval,
5 ms by default: a message handed to the handling thread while the main loop works, or an
acknowledgement due on the main loop while a batch is handled, would wait that long.
:func:`share_interpreter`, called by a service process once started, makes it
``SWITCH_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["SWITCH_INTERVAL", "LoopPool", "LoopThread", "share_interpreter"]

SWITCH_INTERVAL = 0.0005  # s

P = ParamSpec("P")
T = TypeVar("T")


def share_interpreter() -> None:
    """Let a thread waiting for the interpreter have it after ``SWITCH_INTERVAL`` at most.

    For a process that runs one service (``Service.run``), as `settle_heap` is."""
    sys.setswitchinterval(SWITCH_INTERVAL)


class LoopThread:
    """One thread running an event loop of its own, started at construction."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.busy = 0
        """Calls made and not yet returned (read by :class:`LoopPool` to pick a thread)."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name=name, daemon=True)
        self._thread.start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """``await fn(*args, **kwargs)`` on this thread's loop, from the caller's loop.

        The coroutine runs in a copy of the caller's context (its current span, for one), and
        cancelling the caller cancels it: it stops at its next ``await``, after the blocking
        call it may be in."""
        caller = asyncio.get_running_loop()
        if caller is self.loop:  # already here: no hop
            return await fn(*args, **kwargs)
        done: asyncio.Future[T] = caller.create_future()
        started: list[asyncio.Task[T]] = []

        def start() -> None:  # on this thread's loop, in a copy of the caller's context
            task = self.loop.create_task(_awaited(fn, *args, **kwargs))
            started.append(task)
            task.add_done_callback(lambda _: caller.call_soon_threadsafe(_settle, task, done))

        self.busy += 1
        try:
            # Two wake-ups in all, one each way: cheaper than run_coroutine_threadsafe and
            # wrap_future, whose concurrent future takes locks and adds callbacks.
            self.loop.call_soon_threadsafe(start, context=contextvars.copy_context())
            try:
                return await done
            except asyncio.CancelledError:
                self.loop.call_soon_threadsafe(_cancel, started)  # runs after start
                raise
        finally:
            self.busy -= 1

    async def close(self) -> None:
        """Cancel what still runs here, wait for it to end, and stop the thread."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop)
            await asyncio.wrap_future(done)
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join)
        self.loop.close()


def _settle(task: asyncio.Task[T], done: asyncio.Future[T]) -> None:
    """On the caller's loop: ``done`` takes the outcome of ``task`` (ended on another)."""
    if done.cancelled():
        return
    if task.cancelled():
        done.cancel()
    elif (error := task.exception()) is not None:
        done.set_exception(error)
    else:
        done.set_result(task.result())


def _cancel(started: list[asyncio.Task[Any]]) -> None:
    for task in started:
        task.cancel()


async def _awaited(fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn`` called, and awaited, on the loop running this (so all of it runs there)."""
    return await fn(*args, **kwargs)


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*tasks, return_exceptions=True)
    with contextlib.suppress(Exception):
        await asyncio.get_running_loop().shutdown_default_executor()


class LoopPool:
    """A few :class:`LoopThread`; each call goes to the one with the fewest calls running."""

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"{name}: a pool needs at least one thread, not {size}")
        self.threads = [LoopThread(f"{name}-{index}") for index in range(size)]

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        thread = min(self.threads, key=lambda t: t.busy)
        return await thread.call(fn, *args, **kwargs)  # counted busy before it yields

    async def close(self) -> None:
        for thread in self.threads:
            await thread.close()
