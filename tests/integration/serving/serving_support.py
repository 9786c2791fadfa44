"""The metadata service (the registry) and the serving service on one background event loop,
the serving service's data plane replaced by :class:`RecordingFleet` (it implements the
`Fleet` protocol, records every call and reports readiness through the real events object:
a storage URI containing ``broken`` fails to load); and a recorder of the serving events."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nats.aio.msg import Msg

from headrace_bus import Bus, BusConfig
from headrace_contracts import Message, decode
from headrace_metadata.api import AccessSettings, HttpSettings
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Service, Settings
from headrace_serving.app import build as build_serving
from headrace_serving.dataplane import (
    Fleet,
    FleetEvents,
    LoggerPlan,
    RevisionPlan,
    RevisionStatus,
    ServiceKey,
    Traffic,
)

T = TypeVar("T")
M = TypeVar("M", bound=Message)
_ports = itertools.count(18000)


@dataclass
class RecordingFleet:
    events: FleetEvents
    opened: dict[ServiceKey, str] = field(default_factory=dict)
    plans: dict[str, RevisionPlan] = field(default_factory=dict)
    traffic: dict[ServiceKey, Traffic] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    closed: list[ServiceKey] = field(default_factory=list)
    loggers: dict[ServiceKey, LoggerPlan | None] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)
    """Storage URIs whose revisions stay Loading until :meth:`release`."""

    async def open_service(
        self, key: ServiceKey, *, port: int | None = None, logger: LoggerPlan | None = None
    ) -> str:
        self.loggers[key] = logger
        if key not in self.opened:
            self.opened[key] = f"http://127.0.0.1:{port or next(_ports)}"
        return self.opened[key]

    async def start_revision(self, key: ServiceKey, plan: RevisionPlan) -> None:
        if plan.name in self.plans:
            return
        self.plans[plan.name] = plan
        if plan.storage_uri in self.hold:
            return
        self._report(key, plan)

    def release(self, key: ServiceKey, uri: str) -> None:
        self.hold.discard(uri)
        for plan in self.plans.values():
            if plan.storage_uri == uri:
                self._report(key, plan)

    def _report(self, key: ServiceKey, plan: RevisionPlan) -> None:
        loop = asyncio.get_running_loop()
        if "broken" in plan.storage_uri:
            reason = f"cannot load {plan.storage_uri}: not a sklearn model"
            loop.call_soon(self.events.revision_failed, key, plan.name, reason)
        else:
            replicas = max(plan.min_replicas, 1)
            loop.call_soon(self.events.revision_ready, key, plan.name, replicas)

    async def set_traffic(self, key: ServiceKey, traffic: Traffic) -> None:
        self.traffic[key] = traffic

    async def retire_revision(self, key: ServiceKey, revision: str) -> None:
        self.retired.append(revision)

    async def close_service(self, key: ServiceKey) -> None:
        self.closed.append(key)
        self.opened.pop(key, None)
        self.traffic.pop(key, None)

    def status(self, key: ServiceKey) -> list[RevisionStatus]:
        return []

    async def aclose(self) -> None:
        self.opened.clear()


class Platform:
    """The registry and the serving service on one background loop; :meth:`stop` stops them."""

    def __init__(self, settings: Settings, *, real_fleet: bool = False) -> None:
        self.real_fleet = real_fleet
        self.settings = settings
        self.url = settings.nats_url
        self.services: list[Service] = []
        self.events: list[Message] = []
        self.fleets: list[RecordingFleet] = []
        self.bus = Bus(BusConfig(url=self.url), source="tests/serving")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.run(self._connect())
        open_api = AccessSettings(auth="off")  # tests/integration/metadata/test_access*: tokens
        self.metadata = self.start(
            build_metadata(settings, http=HttpSettings(port=0), access=open_api)
        )
        self.serving = self.start_serving()

    @property
    def api(self) -> str:
        """The metadata service's HTTP API (``http://host:port/api/v1``)."""
        return self.metadata.endpoints["http"]

    @property
    def fleet(self) -> RecordingFleet:
        return self.fleets[-1]

    def start_serving(self) -> Service:
        if self.real_fleet:  # the default: headrace_serving.fleet.LocalFleet
            return self.start(build_serving(self.settings))

        def make(events: FleetEvents) -> Fleet:
            fleet = RecordingFleet(events)
            self.fleets.append(fleet)
            return fleet

        return self.start(build_serving(self.settings, fleet_factory=make))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def call(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the services' loop (the data plane reports from there)."""

        async def run() -> None:
            fn()

        self.run(run())

    def start(self, service: Service) -> Service:
        self.run(service.start())
        self.services.append(service)
        return service

    def stop_service(self, service: Service) -> None:
        self.run(service.stop())
        self.services.remove(service)

    def publish(self, message: Message) -> None:
        self.run(self.bus.publish(message))

    def of(self, kind: type[M], **fields: Any) -> list[M]:
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

        await self.bus.connection.subscribe("headrace.inferenceservice.>", cb=received)
