"""`LoopThread` and `LoopPool`: coroutines run on another thread's loop, with the caller's
context, their result or error, and the caller's cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from headrace_runtime.threads import LoopPool, LoopThread

current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="")


async def where() -> tuple[str, str]:
    await asyncio.sleep(0)
    return threading.current_thread().name, current.get()


async def fail() -> None:
    raise KeyError("no such run")


async def test_a_call_runs_on_the_thread_in_the_callers_context() -> None:
    thread = LoopThread("handling")
    try:
        current.set("span-1")
        assert await thread.call(where) == ("handling", "span-1")
        with pytest.raises(KeyError, match="no such run"):
            await thread.call(fail)
        assert thread.busy == 0
    finally:
        await thread.close()


async def test_cancelling_the_caller_cancels_the_call_there() -> None:
    thread = LoopThread("handling")
    entered, ended = threading.Event(), []

    async def long() -> None:
        entered.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise

    try:
        task = asyncio.create_task(thread.call(long))
        assert await asyncio.to_thread(entered.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        done = await thread.call(asyncio.sleep, 0, "next")  # after the cancellation, in order
        assert done == "next"
        assert ended == ["cancelled"]
    finally:
        await thread.close()


async def test_closing_cancels_what_still_runs_and_ends_the_thread() -> None:
    thread = LoopThread("handling")
    entered = threading.Event()

    async def forever() -> None:
        entered.set()
        await asyncio.Event().wait()

    waiting = asyncio.create_task(thread.call(forever))
    assert await asyncio.to_thread(entered.wait, 10)
    await thread.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert thread.loop.is_closed()


async def test_a_pool_spreads_calls_over_its_threads() -> None:
    pool = LoopPool("query", 2)
    release = threading.Event()

    async def held() -> str:
        await asyncio.to_thread(release.wait, 10)
        return threading.current_thread().name

    try:
        first = asyncio.create_task(pool.call(held))
        await asyncio.sleep(0)  # the first call is counted busy before the second picks
        second_name, _ = await pool.call(where)
        release.set()
        assert {await first, second_name} == {"query-0", "query-1"}
    finally:
        await pool.close()
    with pytest.raises(ValueError, match="at least one thread"):
        LoopPool("query", 0)
