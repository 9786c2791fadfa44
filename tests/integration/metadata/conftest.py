"""Fixtures for the metadata service's tests:

* the pipeline platform of ``tests/integration/pipelines`` (scheduler + trainer + metadata on
  a real nats-server), reused as is (``settings``, ``start_platform``, ``platform``);
* bare lineage stores (``store``): a fresh one per name, its own SQLite file or its own
  PostgreSQL schema;
* ``services``: the scheduler, a trainer and the metadata service, their tables on SQLite
  and, with HEADRACE_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from lineage_events import Store
from runs_services import Services
from sqlalchemy import Engine

from headrace_bus import Bus, BusConfig
from headrace_metadata.app import build as build_metadata
from headrace_metadata.lineage.tables import LINEAGE_TABLES
from headrace_runtime.database import build_engine, create_tables
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats, service_settings
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings

_PIPELINES = Path(__file__).parent.parent / "pipelines"
if str(_PIPELINES) not in sys.path:
    sys.path.insert(0, str(_PIPELINES))

_spec = importlib.util.spec_from_file_location("pipelines_conftest", _PIPELINES / "conftest.py")
assert _spec is not None
assert _spec.loader is not None
_pipelines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pipelines)

settings = _pipelines.settings
settings_on_each_database = _pipelines.settings_on_each_database
start_platform = _pipelines.start_platform
platform = _pipelines.platform


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    engines: list[Engine] = []

    def make(name: str) -> Engine:
        url = database_url
        if url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'{name}.db'}"
        engine = build_engine(url, f"lineage_{name}")
        create_tables(engine, LINEAGE_TABLES)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


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
