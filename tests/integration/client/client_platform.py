"""Services on a background event loop, for the synchronous Client's tests (imported by name)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import nats

from headrace_runtime import Service, Settings

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


def eventually(read: Callable[[], T], ok: Callable[[T], bool], timeout: float = 15.0) -> T:
    """``read()`` once ``ok`` of it holds: the metadata service lists a run once it has
    consumed its events, a moment after the scheduler knows it. Fails with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout:g}s: {value!r}")
        time.sleep(0.05)
