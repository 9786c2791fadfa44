"""The real scheduler and metadata service (and, for end-to-end tests, the real trainer) on
a real nats-server, run on a loop of their own in a background thread, so the synchronous
Client and the CLI are used from plain test functions exactly as a user's code would use
them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from client_pipelines import summed
from client_platform import Platform

from headrace import Client
from headrace.run_source import load_source
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats, service_settings


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Settings:
    return service_settings(tmp_path / "home", nats_server.url)


@pytest.fixture
def bare(settings: Settings) -> Iterator[Platform]:
    """NATS with no service on it."""
    platform = Platform(settings)
    yield platform
    platform.stop()


@pytest.fixture
def platform(bare: Platform) -> Platform:
    """The scheduler and the metadata service (which answers ListRuns) on NATS; no trainer,
    so runs stay RUNNING with their first steps READY."""
    bare.start(build_scheduler(bare.settings))
    bare.start(build_metadata(bare.settings))
    return bare


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with Client(nats_url=settings.nats_url, timeout=5.0) as made:
        yield made


@pytest.fixture(scope="session")
def summed_spec() -> dict[str, Any]:
    """``summed`` compiled by kfp, as the dict a user would load from its YAML."""
    return load_source(summed)[0]
