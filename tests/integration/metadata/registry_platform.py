"""The metadata service (and, for pipelines, the scheduler and trainer) on a background event
loop, so the synchronous Client and the CLI are used from plain test functions as a user's
code would use them; and a recorder of the registry's events (imported by name)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from nats.aio.msg import Msg

from headrace_bus import Bus, BusConfig
from headrace_contracts import Message, decode
from headrace_runtime import Service, Settings

T = TypeVar("T")
M = TypeVar("M", bound=Message)


class Platform:
    """Services started on one background event loop; :meth:`stop` stops them all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.nats_url
        self.services: list[Service] = []
        self.events: list[Message] = []
        self.bus = Bus(BusConfig(url=self.url), source="tests/registry")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.run(self._connect())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def start(self, service: Service) -> Service:
        self.run(service.start())
        self.services.append(service)
        return service

    def publish(self, message: Message) -> None:
        self.run(self.bus.publish(message))

    def of(self, kind: type[M], **fields: Any) -> list[M]:
        """Recorded events of ``kind`` whose attributes equal ``fields``."""
        return [
            e
            for e in list(self.events)
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items())
        ]

    def stop(self) -> None:
        for service in reversed(self.services):
            self.run(service.stop())
        self.run(self.bus.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _connect(self) -> None:
        await self.bus.connect()

        async def received(msg: Msg) -> None:
            envelope = decode(msg.headers, msg.data, self.bus.catalogue, subject=msg.subject)
            self.events.append(envelope.message)

        await self.bus.connection.subscribe("headrace.model.>", cb=received)
