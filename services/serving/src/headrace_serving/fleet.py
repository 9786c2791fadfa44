"""`LocalFleet`: the data plane on one machine (model-server processes, one router per
InferenceService, the autoscaler), behind the `Fleet` protocol."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from opentelemetry.metrics import Meter
from opentelemetry.trace import Tracer

from .autoscale.loop import run_autoscaler
from .autoscale.policy import ScaleSettings
from .dataplane import (
    FleetError,
    FleetEvents,
    LoggerPlan,
    RevisionPlan,
    RevisionStatus,
    ServiceKey,
    Traffic,
)
from .revisions.revision import Revision
from .router.http import FrontProtocol
from .router.metrics import RequestMetrics
from .router.reporter import TrafficReporter
from .router.service import ServiceRouter

__all__ = ["LocalFleet"]

log = logging.getLogger("headrace.serving.fleet")


class _Service:
    def __init__(self, router: ServiceRouter, server: asyncio.Server, url: str) -> None:
        self.router = router
        self.server = server
        self.url = url


class LocalFleet:
    """Model servers as local processes, each InferenceService's router on ``host``.

    ``idle_seconds``: a ``min_replicas: 0`` revision without requests this long goes to
    zero. ``cold_start_timeout``: how long a request waits for a replica. ``load_timeout``:
    how long a replica may take to load its model before its revision fails.
    ``scale_interval``, ``stable_window``, ``panic_window``: the autoscaler's sampling period
    and averaging windows (seconds). ``tracer``: each revision's load and first request
    served are spans of the trace its plan names (`headrace_serving.revisions.tracing`).
    ``traffic_interval``: every this many seconds, each service that answered requests
    meanwhile is reported through ``events.traffic`` (None: never).
    """

    def __init__(
        self,
        events: FleetEvents,
        *,
        logs_dir: Path,
        host: str = "127.0.0.1",
        idle_seconds: float = 30.0,
        cold_start_timeout: float = 300.0,
        load_timeout: float = 300.0,
        scale_interval: float = 0.5,
        stable_window: float = 6.0,
        panic_window: float = 1.0,
        meter: Meter | None = None,
        tracer: Tracer | None = None,
        traffic_interval: float | None = None,
    ) -> None:
        self.events = events
        self.reporter = (
            TrafficReporter(events, traffic_interval) if traffic_interval is not None else None
        )
        self.tracer = tracer
        self.metrics = RequestMetrics(meter) if meter is not None else None
        self.logs_dir = Path(logs_dir)
        self.host = host
        self.idle_seconds = idle_seconds
        self.cold_start_timeout = cold_start_timeout
        self.load_timeout = load_timeout
        self.scale_interval = scale_interval
        self.stable_window = stable_window
        self.panic_window = panic_window
        self._services: dict[ServiceKey, _Service] = {}
        self._autoscaler: asyncio.Task[None] | None = None

    async def open_service(
        self, key: ServiceKey, *, port: int | None = None, logger: LoggerPlan | None = None
    ) -> str:
        service = self._services.get(key)
        if service is not None:
            service.router.logger = logger
            return service.url
        router = ServiceRouter(
            key,
            events=self.events,
            cold_start_timeout=self.cold_start_timeout,
            logger=logger,
            metrics=self.metrics,
            window=self.reporter.window if self.reporter is not None else None,
        )
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: FrontProtocol(router), self.host, port or 0, reuse_address=True
            )
        except OSError as exc:
            raise FleetError(
                f"cannot open the router of InferenceService {key} on {self.host}:{port}: "
                f"{exc}; free the port or choose another"
            ) from None
        bound = server.sockets[0].getsockname()[1]
        url = f"http://{self.host}:{bound}"
        self._services[key] = _Service(router, server, url)
        if self._autoscaler is None:
            self._autoscaler = loop.create_task(
                run_autoscaler(self._revisions, self.scale_interval)
            )
        if self.reporter is not None:
            self.reporter.start()
        log.info("router of InferenceService %s listens on %s", key, url)
        return url

    async def start_revision(self, key: ServiceKey, plan: RevisionPlan) -> None:
        router = self._service(key).router
        if plan.name in router.revisions:
            return
        scale = ScaleSettings(
            min_replicas=plan.min_replicas,
            max_replicas=plan.max_replicas,
            target=plan.scale_target,
            idle_seconds=self.idle_seconds,
            stable_window=self.stable_window,
            panic_window=self.panic_window,
        )
        revision = Revision(
            key,
            plan,
            host=self.host,
            logs_dir=self.logs_dir,
            events=self.events,
            load_timeout=self.load_timeout,
            scale=scale,
            on_change=router.notify,
            tracer=self.tracer,
        )
        router.revisions[plan.name] = revision
        revision.start()

    async def set_traffic(self, key: ServiceKey, traffic: Traffic) -> None:
        router = self._service(key).router
        router.traffic = traffic
        router.notify()

    async def retire_revision(self, key: ServiceKey, revision: str) -> None:
        router = self._service(key).router
        found = router.revisions.get(revision)
        if found is None:
            raise FleetError(
                f"InferenceService {key} has no revision {revision!r} "
                f"(known: {', '.join(router.revisions) or 'none'})"
            )
        await found.retire()

    async def close_service(self, key: ServiceKey) -> None:
        service = self._services.get(key)
        if service is None:
            return
        await service.router.drain()
        await self._stop(key, service)

    async def _stop(self, key: ServiceKey, service: _Service) -> None:
        service.server.close()
        for client in list(service.router.connections):
            if client.transport is not None:
                client.transport.close()
        await asyncio.gather(*(r.stop() for r in service.router.revisions.values()))
        self._services.pop(key, None)
        log.info("InferenceService %s closed", key)

    def status(self, key: ServiceKey) -> list[RevisionStatus]:
        service = self._services.get(key)
        if service is None:
            return []
        return [revision.status() for revision in service.router.revisions.values()]

    async def aclose(self) -> None:
        if self.reporter is not None:
            await self.reporter.aclose()
        if self._autoscaler is not None:
            self._autoscaler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._autoscaler
            self._autoscaler = None
        for key, service in list(self._services.items()):
            service.router.closed = True
            service.router.notify()
            await self._stop(key, service)

    # ---------------------------------------------------------------------------------

    def _service(self, key: ServiceKey) -> _Service:
        service = self._services.get(key)
        if service is None:
            raise FleetError(
                f"InferenceService {key} has no router on this fleet: open_service first"
            )
        return service

    def _revisions(self) -> list[Revision]:
        return [r for s in self._services.values() for r in s.router.revisions.values()]
