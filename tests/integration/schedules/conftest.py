"""Fixtures: scheduler replicas on a real nats-server, on SQLite or (for the tests that take
``database_url``) PostgreSQL when HEADRACE_TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from schedule_pipelines import gated, paired, ticked
from schedule_platform import SchedulePlatform

from headrace import Client
from headrace.run_source import load_source
from headrace_runtime import Settings
from headrace_testing import TestNats, service_settings


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Settings:
    return service_settings(tmp_path / "home", nats_server.url)


@pytest.fixture
def bare(settings: Settings) -> Iterator[SchedulePlatform]:
    platform = SchedulePlatform(settings)
    yield platform
    platform.stop()


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with Client(nats_url=settings.nats_url, timeout=5.0) as made:
        yield made


@pytest.fixture(scope="session")
def ticked_spec() -> dict[str, Any]:
    return load_source(ticked)[0]


@pytest.fixture(scope="session")
def gated_spec() -> dict[str, Any]:
    return load_source(gated)[0]


@pytest.fixture(scope="session")
def paired_spec() -> dict[str, Any]:
    return load_source(paired)[0]


@pytest.fixture
def ticked_yaml(tmp_path: Path, ticked_spec: dict[str, Any]) -> Path:
    path = tmp_path / "ticked.yaml"
    path.write_text(yaml.safe_dump(ticked_spec))
    return path
