"""Fixtures: the scheduler, a trainer and the metadata service on a real nats-server, their
tables on SQLite and, with HEADRACE_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from runs_services import Services

from headrace_bus import Bus, BusConfig
from headrace_metadata.app import build as build_metadata
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats, service_settings
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings


@pytest.fixture
async def services(
    tmp_path: Path, nats_server: TestNats, database_url: str
) -> AsyncIterator[Services]:
    settings = service_settings(
        tmp_path / "home", nats_server.url, backoff_max=0.5, database_url=database_url
    )
    metadata = build_metadata(settings)
    started = [
        build_scheduler(settings),
        build_trainer(settings, trainer=TrainerSettings(concurrency=2)),
        metadata,
    ]
    for service in started:
        await service.start()
    bus = Bus(BusConfig(url=nats_server.url), source="tests/metadata")
    await bus.connect()
    try:
        yield Services(bus, metadata, tmp_path)
    finally:
        await bus.close()
        for service in reversed(started):
            await service.stop()
