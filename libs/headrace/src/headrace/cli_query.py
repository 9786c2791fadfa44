"""One query from a CLI command to the platform: connect to NATS, ask, close."""

from __future__ import annotations

import asyncio

from headrace_bus import Bus, BusConfig
from headrace_contracts import Query, Reply

__all__ = ["NatsUnreachable", "ask"]


class NatsUnreachable(Exception):
    """NATS itself does not answer; ``str()`` says so and how to start the platform."""


async def ask(url: str, query: Query, timeout: float) -> Reply:
    """``query``'s reply from whoever answers it on NATS at ``url``; raises
    :class:`NatsUnreachable`, or the bus's errors when nobody answers the query."""
    bus = Bus(
        BusConfig(url=url, connect_timeout=timeout, client_name="headrace-cli"),
        source="headrace/cli",
    )
    try:
        await asyncio.wait_for(bus.connect(), timeout)
    except Exception as exc:
        await bus.close()
        why = "no answer" if isinstance(exc, TimeoutError) else f"{exc}"
        raise NatsUnreachable(
            f"cannot reach NATS at {url} ({why}): start the platform with `headrace up`, "
            "or point HEADRACE_NATS_URL at a running one"
        ) from None
    try:
        return await bus.request(query, timeout=timeout)
    finally:
        await bus.close()
