"""The real scheduler (and, for end-to-end tests, the real trainer) on a real nats-server,
run on a loop of their own in a background thread, so the synchronous Client and the CLI
are used from plain test functions exactly as a user's code would use them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
from client_pipelines import summed

from headrace import Client
from headrace.run_source import load_source
from headrace_runtime import Service, Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats

T = TypeVar("T")


class Platform:
    """Services started on one background event loop; :meth:`stop` stops them all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.nats_url
        self.services: list[Service] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def start(self, service: Service) -> Service:
        self.run(service.start())
        self.services.append(service)
        return service

    def start_trainer(self) -> Service:
        from headrace_trainer.app import build as build_trainer
        from headrace_trainer.config import TrainerSettings

        return self.start(build_trainer(self.settings, trainer=TrainerSettings(concurrency=2)))

    def submits(self) -> int:
        """How many SubmitRun messages the stream holds."""

        async def count() -> int:
            nc = await nats.connect(self.url)
            try:
                info = await nc.jetstream().stream_info(
                    "HEADRACE", subjects_filter="headrace.run.submit"
                )
                return sum((info.state.subjects or {}).values())
            finally:
                await nc.close()

        return self.run(count())

    def stop(self) -> None:
        for service in reversed(self.services):
            self.run(service.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@pytest.fixture
def settings(tmp_path: Path, nats_server: TestNats) -> Settings:
    return Settings(
        home=tmp_path / "home",
        nats_url=nats_server.url,
        backoff_initial=0.05,
        backoff_max=0.2,
        outbox_interval=0.2,
    )


@pytest.fixture
def bare(settings: Settings) -> Iterator[Platform]:
    """NATS with no service on it."""
    platform = Platform(settings)
    yield platform
    platform.stop()


@pytest.fixture
def platform(bare: Platform) -> Platform:
    """The scheduler on NATS; no trainer, so runs stay RUNNING with their first steps READY."""
    bare.start(build_scheduler(bare.settings))
    return bare


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with Client(nats_url=settings.nats_url, timeout=5.0) as made:
        yield made


@pytest.fixture(scope="session")
def summed_spec() -> dict[str, Any]:
    """``summed`` compiled by kfp, as the dict a user would load from its YAML."""
    return load_source(summed)[0]
