"""Counting the questions asked on a query subject, to show that a client waits on an event
instead of asking again and again (a plain subscription beside the service's queue group
sees every request)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg

__all__ = ["questions_asked"]


class Asked:
    def __init__(self) -> None:
        self.count = 0


@contextlib.contextmanager
def questions_asked(nats_url: str, subject: str) -> Iterator[Asked]:
    """Within the block, ``.count`` is the number of requests sent on ``subject``."""
    asked = Asked()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def listen() -> Client:
        connection = await nats.connect(nats_url)

        async def seen(_: Msg) -> None:
            asked.count += 1

        await connection.subscribe(subject, cb=seen)
        await connection.flush()
        return connection

    connection = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=30)
    try:
        yield asked
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(connection.flush(), loop).result(timeout=10)
            asyncio.run_coroutine_threadsafe(connection.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
