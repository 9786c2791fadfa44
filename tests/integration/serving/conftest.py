"""One fleet (real model-server processes) per test module, and the models it serves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from dataplane_support import Recorder, iris_models
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from headrace_serving import LocalFleet


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return iris_models(tmp_path_factory.mktemp("iris"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def fleet_metrics() -> InMemoryMetricReader:
    """What the fleet's routers measure, read in memory."""
    return InMemoryMetricReader()


@pytest.fixture(scope="module")
def fleet_meters(fleet_metrics: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[fleet_metrics])
    yield provider
    provider.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fleet(
    recorder: Recorder,
    tmp_path_factory: pytest.TempPathFactory,
    fleet_meters: MeterProvider,
) -> AsyncIterator[LocalFleet]:
    fleet = LocalFleet(
        recorder,
        logs_dir=tmp_path_factory.mktemp("logs"),
        idle_seconds=1.5,
        cold_start_timeout=60,
        load_timeout=60,
        scale_interval=0.2,
        stable_window=2.0,
        panic_window=0.6,
        meter=fleet_meters.get_meter("test"),
    )
    yield fleet
    await fleet.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as client:
        yield client
