"""Services started in-process on a background event loop, so a test drives them with the
synchronous :class:`headrace.Client` and the CLI as a user would, and reaches each service's
engine (to inject a `faults.StoreFault`); events of chosen subjects are recorded, each once,
as the stream stores them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from nats.aio.msg import Msg

from headrace_bus import Bus, BusConfig
from headrace_contracts import Message, decode

if TYPE_CHECKING:
    from headrace_runtime import Service

T = TypeVar("T")
M = TypeVar("M", bound=Message)

__all__ = ["Background"]


class Background:
    """Services on one background event loop; :meth:`stop` stops them all. Events on
    ``subjects`` (e.g. ``headrace.trainingjob.>``) are kept in :attr:`events`.

    An event is kept once per event id: an outbox row whose service stopped between its
    publish and its delete is published again by the next replica under the same id, which
    JetStream's duplicate window stores once but a plain subscription sees twice."""

    def __init__(self, nats_url: str, *subjects: str) -> None:
        self.url = nats_url
        self.services: list[Service] = []
        self.events: list[Message] = []
        self._seen: set[str] = set()
        self.bus = Bus(BusConfig(url=nats_url), source="tests/background")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.run(self._connect(subjects))

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

    async def _connect(self, subjects: tuple[str, ...]) -> None:
        await self.bus.connect()

        async def received(msg: Msg) -> None:
            envelope = decode(msg.headers, msg.data, self.bus.catalogue, subject=msg.subject)
            if envelope.id not in self._seen:
                self._seen.add(envelope.id)
                self.events.append(envelope.message)

        for subject in subjects:
            await self.bus.connection.subscribe(subject, cb=received)
