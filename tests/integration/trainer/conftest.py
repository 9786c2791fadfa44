"""The trainer built in-process on a real nats-server and a real artifact store, fed
StepReady messages made from components compiled with the real kfp SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from trainer_support import Recorder

from headrace_artifacts import FileStore
from headrace_bus import Bus, BusConfig
from headrace_runtime import Service, Settings
from headrace_testing import TestNats, service_settings
from headrace_trainer.app import build
from headrace_trainer.config import TrainerSettings


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Settings:
    return service_settings(tmp_path / "home", nats_server.url, outbox_interval=0.05)


@pytest.fixture
def store(settings: Settings) -> FileStore:
    return FileStore(settings.home / "artifacts")


@pytest.fixture
async def client(nats_server: TestNats) -> AsyncIterator[Bus]:
    bus = Bus(BusConfig(url=nats_server.url), source="tests/client")
    await bus.connect()
    yield bus
    await bus.close()


@pytest.fixture
async def recorder(client: Bus) -> Recorder:
    found = Recorder(client)
    await found.start()
    return found


@pytest.fixture
async def trainer(
    settings: Settings,
) -> AsyncIterator[Callable[..., Awaitable[Service]]]:
    """``await trainer(concurrency=2)`` starts a trainer; all are stopped at teardown."""
    running: list[Service] = []

    async def start(**overrides: Any) -> Service:
        service = build(settings, trainer=TrainerSettings(**overrides))
        await service.start()
        running.append(service)
        return service

    yield start
    for service in reversed(running):
        await service.stop()
