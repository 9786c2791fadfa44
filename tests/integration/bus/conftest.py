"""Services built in-process on a real nats-server and a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from headrace_bus import Bus, BusConfig
from headrace_runtime import Service, Settings
from headrace_testing import TestNats


async def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


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


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "home": tmp_path / "home",
            "nats_url": nats_server.url,
            "backoff_initial": 0.05,
            "backoff_max": 0.2,
            "outbox_interval": 0.2,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def client(nats_server: TestNats) -> AsyncIterator[Bus]:
    bus = Bus(BusConfig(url=nats_server.url), source="tests/client")
    await bus.connect()
    yield bus
    await bus.close()


@pytest.fixture
async def started() -> AsyncIterator[Callable[[Service], Awaitable[Service]]]:
    """Start services; stop every one of them at teardown."""
    running: list[Service] = []

    async def start(service: Service) -> Service:
        await service.start()
        running.append(service)
        return service

    yield start
    for service in reversed(running):
        await service.stop()
