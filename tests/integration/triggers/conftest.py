"""The real scheduler (and, where a run must finish, the real trainer) on a real nats-server,
on a background loop, driven by the synchronous Client, the CLI and plain nats-py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trigger_platform import ORDER_PIPELINE

from headrace import Client
from headrace.run_source import load_source
from headrace_runtime import Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats, service_settings
from headrace_testing.background import Background


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Settings:
    return service_settings(tmp_path / "home", nats_server.url)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Background]:
    """The scheduler on NATS, recording trigger and run events; no trainer."""
    background = Background(settings.nats_url, "headrace.trigger.>", "headrace.run.>")
    background.start(build_scheduler(settings))
    yield background
    background.stop()


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with Client(nats_url=settings.nats_url, timeout=5.0) as made:
        yield made


@pytest.fixture(scope="session")
def order_spec() -> dict[str, Any]:
    return load_source(ORDER_PIPELINE)[0]
