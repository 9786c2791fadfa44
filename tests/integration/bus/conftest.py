"""Services built in-process on a real nats-server and a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from headrace_bus import Bus, BusConfig
from headrace_runtime import Service, Settings
from headrace_testing import TestNats, service_settings


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return service_settings(tmp_path / "home", nats_server.url, **overrides)

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
