"""Helpers of the bus integration tests (a module of its own, imported by name)."""

from __future__ import annotations

from typing import Any

from nats.js.api import ConsumerConfig, DeliverPolicy

from headrace_bus import Bus


async def dead_letters(bus: Bus, timeout: float = 1.0) -> list[Any]:
    """Every message in the dead-letter stream, oldest first."""
    js = bus.connection.jetstream()
    sub = await js.pull_subscribe(
        "headrace.dlq.>",
        stream=bus.config.dlq_stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    found: list[Any] = []
    try:
        while True:
            try:
                batch = await sub.fetch(100, timeout=timeout)
            except Exception:
                break
            for msg in batch:
                await msg.ack()
            found.extend(batch)
    finally:
        await sub.unsubscribe()
    return found
