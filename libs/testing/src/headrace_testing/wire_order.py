"""The order in which messages of chosen subjects crossed the server: to show that a client
asks its question after the event that answers its command, not before and again and again.

One plain subscription on ``headrace.>`` sees requests beside the responders' queue group,
and commands and events beside the durable consumers, in the order the server routed them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import nats
from nats.aio.client import Client
from nats.aio.subscription import Subscription

__all__ = ["subjects_seen"]


@contextlib.contextmanager
def subjects_seen(nats_url: str, *subjects: str) -> Iterator[list[str]]:
    """After the block, the list holds the messages on ``subjects`` sent within it, by
    subject, in order (a round trip to the server first: it sends what it routed here
    before it answers the ping)."""
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def listen() -> tuple[Client, Subscription]:
        connection = await nats.connect(nats_url)
        subscription = await connection.subscribe("headrace.>")
        await connection.flush()
        return connection, subscription

    async def collect(connection: Client, subscription: Subscription) -> list[str]:
        await connection.flush()
        found = []
        for _ in range(subscription.delivered):
            found.append((await subscription.next_msg(timeout=5)).subject)
        return [subject for subject in found if subject in subjects]

    connection, subscription = asyncio.run_coroutine_threadsafe(listen(), loop).result(30)
    try:
        yield seen
        collected = asyncio.run_coroutine_threadsafe(collect(connection, subscription), loop)
        seen.extend(collected.result(30))
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(connection.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
