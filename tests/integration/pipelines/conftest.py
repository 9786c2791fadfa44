"""Fixtures: the pipeline platform (scheduler + trainer + metadata) on a real nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pipeline_harness import Platform

from headrace_bus import Bus, BusConfig
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Service, Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats, service_settings
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Settings:
    return service_settings(tmp_path / "home", nats_server.url, backoff_max=0.5)


@pytest.fixture
def settings_on_each_database(tmp_path: Path, nats_server: TestNats, database_url: str) -> Settings:
    """Settings for a module whose tests run on SQLite and, with HEADRACE_TEST_DATABASE_URL
    (CI), on PostgreSQL too: such a module overrides ``settings`` with this one."""
    return service_settings(
        tmp_path / "home", nats_server.url, backoff_max=0.5, database_url=database_url
    )


@pytest.fixture
async def start_platform(
    settings: Settings, tmp_path: Path, nats_server: TestNats
) -> AsyncIterator[Callable[..., Awaitable[Platform]]]:
    services: list[Service] = []
    buses: list[Bus] = []

    async def start(
        *, schedulers: int = 1, trainers: int = 1, concurrency: int = 4, **overrides: Any
    ) -> Platform:
        values = settings.model_dump()
        values.update(overrides)
        for i in range(schedulers):
            service = build_scheduler(Settings(**{**values, "instance_id": f"scheduler-{i}"}))
            services.append(service)
        for i in range(trainers):
            service = build_trainer(
                Settings(**{**values, "instance_id": f"trainer-{i}"}),
                trainer=TrainerSettings(concurrency=concurrency),
            )
            services.append(service)
        services.append(build_metadata(Settings(**values)))
        for service in services:
            await service.start()
        bus = Bus(BusConfig(url=nats_server.url), source="tests/pipelines")
        await bus.connect()
        buses.append(bus)
        folder = tmp_path / "compiled"
        folder.mkdir(exist_ok=True)
        return Platform(bus, folder, services)

    yield start
    for bus in buses:
        await bus.close()
    for service in reversed(services):
        await service.stop()


@pytest.fixture
async def platform(start_platform: Callable[..., Awaitable[Platform]]) -> Platform:
    return await start_platform()
