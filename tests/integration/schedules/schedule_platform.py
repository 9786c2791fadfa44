"""Scheduler replicas (and, when asked, trainer and metadata) on a background event loop,
with every ScheduleFired and run ending seen on the bus, so plain test functions can use
the synchronous Client and the CLI and wait on events."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.msg import Msg

from headrace_contracts import (
    CATALOGUE,
    Message,
    RunCancelled,
    RunFailed,
    RunRejected,
    RunStarted,
    RunSucceeded,
    ScheduleFired,
    ScheduleRejected,
    decode,
)
from headrace_runtime import Service, Settings
from headrace_scheduler.app import build as build_scheduler

T = TypeVar("T")
ENDINGS = (RunSucceeded, RunFailed, RunCancelled, RunRejected)


class SchedulePlatform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.nats_url
        self.services: list[Service] = []
        self.fired: list[ScheduleFired] = []
        self.ended: dict[str, str] = {}
        self.rejected: list[ScheduleRejected] = []
        self.started: set[str] = set()
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._nc: Any = None
        self.run(self._watch())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def start(self, service: Service) -> Service:
        self.run(service.start())
        self.services.append(service)
        return service

    def start_scheduler(self, instance: str = "scheduler-0") -> Service:
        values = {**self.settings.model_dump(), "instance_id": instance}
        return self.start(build_scheduler(Settings(**values)))

    def start_trainer(self) -> Service:
        from headrace_trainer.app import build as build_trainer
        from headrace_trainer.config import TrainerSettings

        return self.start(build_trainer(self.settings, trainer=TrainerSettings(concurrency=4)))

    def start_metadata(self) -> Service:
        from headrace_metadata.app import build as build_metadata

        return self.start(build_metadata(self.settings))

    def stop_service(self, service: Service) -> None:
        self.run(service.stop())
        self.services.remove(service)

    def wait_for(self, ok: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        with self._changed:
            if not self._changed.wait_for(ok, timeout=timeout):
                raise AssertionError(
                    f"{what} not so after {timeout:g}s; fired: "
                    f"{[(f.tick.isoformat(), f.run_id) for f in self.fired]}, ended: {self.ended}"
                )

    def wait_fired(self, count: int, name: str = "", timeout: float = 30.0) -> list[ScheduleFired]:
        def of() -> list[ScheduleFired]:
            return [f for f in self.fired if not name or f.name == name]

        self.wait_for(lambda: len(of()) >= count, f"{count} ticks of {name or 'any'}", timeout)
        with self._changed:
            return of()

    def wait_started(self, run_id: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda: run_id in self.started, f"{run_id} started", timeout)

    def wait_ended(self, run_ids: list[str], timeout: float = 60.0) -> dict[str, str]:
        self.wait_for(lambda: all(r in self.ended for r in run_ids), f"{run_ids} ended", timeout)
        with self._changed:
            return {r: self.ended[r] for r in run_ids}

    def publish(self, message: Message) -> None:
        """Send ``message`` as any NATS client would (a CloudEvent on its subject)."""
        from headrace_bus import Bus, BusConfig

        async def send() -> None:
            bus = Bus(BusConfig(url=self.url), source="tests/schedules")
            await bus.connect()
            try:
                await bus.publish(message)
            finally:
                await bus.close()

        self.run(send())

    def wait_rejected(self, request_id: str, timeout: float = 15.0) -> ScheduleRejected:
        def found() -> list[ScheduleRejected]:
            return [r for r in self.rejected if r.request_id == request_id]

        self.wait_for(lambda: bool(found()), f"ScheduleRejected {request_id}", timeout)
        with self._changed:
            return found()[0]

    def fired_now(self) -> list[ScheduleFired]:
        with self._changed:
            return list(self.fired)

    async def _watch(self) -> None:
        self._nc = await nats.connect(self.url)

        async def seen(msg: Msg) -> None:
            message = decode(msg.headers, msg.data, CATALOGUE, subject=msg.subject).message
            with self._changed:
                if isinstance(message, ScheduleFired):
                    self.fired.append(message)
                elif isinstance(message, ScheduleRejected):
                    self.rejected.append(message)
                elif isinstance(message, RunStarted):
                    self.started.add(message.run_id)
                else:
                    self.ended[message.run_id] = type(message).__name__  # type: ignore[attr-defined]
                self._changed.notify_all()

        for kind in (ScheduleFired, ScheduleRejected, RunStarted, *ENDINGS):
            await self._nc.subscribe(kind.subject(), cb=seen)

    def stop(self) -> None:
        for service in reversed(self.services):
            self.run(service.stop())
        self.run(self._nc.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
