"""Holding messages while a long handler works on them."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.msg import Msg


async def keep_alive(ack_wait: float, *raws: Msg) -> None:
    """Until cancelled, tell the server every third of ``ack_wait`` (at least every half
    second) that ``raws`` are still being handled, so they are not delivered again."""
    interval = max(ack_wait / 3, 0.5)
    while True:
        await asyncio.sleep(interval)
        for raw in raws:
            with contextlib.suppress(Exception):
                await raw.in_progress()
