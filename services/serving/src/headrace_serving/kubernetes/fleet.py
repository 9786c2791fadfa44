"""`KubernetesFleet`: the serving data plane on a Kubernetes cluster, behind the `Fleet`
protocol.

Each InferenceService keeps its router in the serving service's process (the same
`ServiceRouter` as `LocalFleet`'s: traffic split, canary, logger, cold-start waits) and gets
one parent ConfigMap on the cluster (`parent_object`). Each revision is a Deployment of the
model server, a ClusterIP Service and an autoscaler, owned by that parent
(`revision_objects`), created all or nothing; to the router it is one upstream, its
Service (`KubeRevision`). Two watches per InferenceService (its Deployments and its pods,
by label) feed the revisions: ready when the Deployment has ready replicas, failed with
the pods' reason. Retiring a revision deletes its objects; closing the service deletes the
parent (the garbage collector deletes the rest). A restarted service adopts the objects it
finds (by label) instead of creating them again; ``aclose`` leaves them running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import Tracer

from ..dataplane import (
    FleetError,
    FleetEvents,
    LoggerPlan,
    RevisionPlan,
    RevisionStatus,
    ServiceKey,
    Traffic,
)
from ..router.http import FrontProtocol
from ..router.reporter import TrafficReporter
from ..router.service import ServiceRouter
from .api import KubeApi, KubeCallError
from .kinds import create, delete, read
from .manifests import (
    ANNOTATION_REVISION,
    ManifestRefused,
    parent_object,
    revision_objects,
    service_selector,
)
from .observe import revision_of
from .revision import KubeRevision
from .settings import ServingKubernetesSettings
from .watch import Follow

__all__ = ["KubernetesFleet"]

log = logging.getLogger("headrace.serving.kubernetes")


class _Service:
    def __init__(
        self, key: ServiceKey, router: ServiceRouter, namespace: str, parent: dict[str, Any]
    ) -> None:
        self.key = key
        self.router = router
        self.namespace = namespace
        self.parent = parent
        self.parent_uid = ""
        self.server: asyncio.Server | None = None
        self.url = ""
        self.deployments: Follow | None = None
        self.pods: Follow | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.refused: set[str] = set()
        """Revisions whose objects cannot be made (reported failed): nothing to retire."""

    def revision(self, obj: dict[str, Any] | None) -> KubeRevision | None:
        found = self.router.revisions.get(revision_of(obj or {}, ANNOTATION_REVISION))
        return found if isinstance(found, KubeRevision) else None


class KubernetesFleet:
    """See the module docstring. ``host``: where the routers listen; ``clock``: the time
    pods' waits are measured with; ``tracer``: each revision's load and first request
    served are spans of the trace its plan names (`headrace_serving.revisions.tracing`)."""

    def __init__(
        self,
        events: FleetEvents,
        settings: ServingKubernetesSettings,
        k8s: KubeApi,
        *,
        host: str = "127.0.0.1",
        cold_start_timeout: float = 300.0,
        clock: Callable[[], float] = time.time,
        tracer: Tracer | None = None,
        traffic_interval: float | None = None,
    ) -> None:
        self.events = events
        self.tracer = tracer
        self.reporter = (
            TrafficReporter(events, traffic_interval) if traffic_interval is not None else None
        )
        self.settings = settings
        self.k8s = k8s
        self.host = host
        self.cold_start_timeout = cold_start_timeout
        self.clock = clock
        self._services: dict[ServiceKey, _Service] = {}

    async def open_service(
        self, key: ServiceKey, *, port: int | None = None, logger: LoggerPlan | None = None
    ) -> str:
        service = self._services.get(key)
        if service is not None:
            service.router.logger = logger
            return service.url
        parent = parent_object(key, self.settings)
        router = ServiceRouter(
            key,
            events=self.events,
            cold_start_timeout=self.cold_start_timeout,
            logger=logger,
            window=self.reporter.window if self.reporter is not None else None,
        )
        service = _Service(key, router, parent["metadata"]["namespace"], parent)
        service.parent_uid = await self._parent(service)
        selector = service_selector(key, self.settings)
        service.deployments = Follow(
            self.k8s, "Deployment", service.namespace, selector,
            seen=lambda name, obj: self._deployment(service, name, obj),
            watch_seconds=self.settings.watch_seconds,
        )  # fmt: skip
        await service.deployments.relist()  # what a restarted service adopts
        service.pods = Follow(
            self.k8s, "Pod", service.namespace, selector,
            seen=lambda name, obj: self._pod(service, name, obj),
            tick=lambda: self._tick(service),
            tick_seconds=min(5.0, max(0.1, self.settings.unschedulable_seconds / 4)),
            watch_seconds=self.settings.watch_seconds,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        try:
            service.server = await loop.create_server(
                lambda: FrontProtocol(router), self.host, port or 0, reuse_address=True
            )
        except OSError as exc:
            raise FleetError(
                f"cannot open the router of InferenceService {key} on {self.host}:{port}: "
                f"{exc}; free the port or choose another"
            ) from None
        bound = service.server.sockets[0].getsockname()[1]
        service.url = f"http://{self.host}:{bound}"
        for follow in (service.deployments, service.pods):
            service.tasks.append(loop.create_task(follow.run(), name=f"k8s-{follow.kind}-{key}"))
        self._services[key] = service
        if self.reporter is not None:
            self.reporter.start()
        log.info("router of InferenceService %s listens on %s (Kubernetes namespace %s)",
                 key, service.url, service.namespace)  # fmt: skip
        return service.url

    async def _parent(self, service: _Service) -> str:
        """The parent's uid: created, or read when it exists (a restart)."""
        meta = service.parent["metadata"]
        try:
            made = await create(self.k8s, service.parent)
        except KubeCallError as error:
            if error.status != 409:
                raise
            made = await read(self.k8s, "ConfigMap", service.namespace, meta["name"])
        return str(made["metadata"]["uid"])

    async def start_revision(self, key: ServiceKey, plan: RevisionPlan) -> None:
        service = self._service(key)
        router = service.router
        if plan.name in router.revisions:
            return
        try:
            objects = revision_objects(key, plan, self.settings, parent_uid=service.parent_uid)
        except ManifestRefused as error:
            service.refused.add(plan.name)
            self.events.revision_failed(key, plan.name, str(error))
            return
        revision = KubeRevision(
            key, plan, objects, events=self.events, on_change=router.notify,
            unschedulable_seconds=self.settings.unschedulable_seconds, tracer=self.tracer,
        )  # fmt: skip
        router.revisions[plan.name] = revision
        assert service.deployments is not None
        assert service.pods is not None
        name = objects.deployment["metadata"]["name"]
        adopted = service.deployments.known.get(name)
        if adopted is None:
            try:
                await self._create(objects.children)
            except KubeCallError as error:
                revision.fail(str(error))
                return
        else:
            log.info("revision %s of %s adopted (Deployment %s)", plan.name, key, name)
            revision.observe_deployment(adopted)
        for pod_name, pod in list(service.pods.known.items()):
            if service.revision(pod) is revision:
                revision.observe_pod(pod_name, pod, self.clock())

    async def _create(self, children: list[dict[str, Any]]) -> None:
        """Every child, or none: what was created is deleted again when one is refused."""
        done: list[dict[str, Any]] = []
        for child in children:
            try:
                await create(self.k8s, child)
            except KubeCallError as error:
                if error.status == 409:
                    continue  # made before a restart: kept
                for made in reversed(done):
                    meta = made["metadata"]
                    with contextlib.suppress(KubeCallError):
                        await delete(self.k8s, made["kind"], meta["namespace"], meta["name"])
                raise
            done.append(child)

    async def set_traffic(self, key: ServiceKey, traffic: Traffic) -> None:
        router = self._service(key).router
        router.traffic = traffic
        router.notify()

    async def retire_revision(self, key: ServiceKey, revision: str) -> None:
        service = self._service(key)
        router = service.router
        found = router.revisions.get(revision)
        if found is None and revision in service.refused:
            return
        if not isinstance(found, KubeRevision):
            raise FleetError(
                f"InferenceService {key} has no revision {revision!r} "
                f"(known: {', '.join(router.revisions) or 'none'})"
            )
        await found.retire()
        for child in found.objects.children:
            meta = child["metadata"]
            try:
                await delete(self.k8s, child["kind"], meta["namespace"], meta["name"])
            except KubeCallError as error:
                log.warning("retiring revision %s of %s: %s", revision, key, error)

    async def close_service(self, key: ServiceKey) -> None:
        service = self._services.get(key)
        if service is None:
            return
        await service.router.drain()
        await self._stop(service)
        meta = service.parent["metadata"]
        await delete(self.k8s, "ConfigMap", service.namespace, meta["name"])
        log.info("InferenceService %s closed: its parent %s deleted", key, meta["name"])

    async def _stop(self, service: _Service) -> None:
        """The router and watches stop; the objects on the cluster stay."""
        for task in service.tasks:
            task.cancel()
        for task in service.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if service.server is not None:
            service.server.close()
        for client in list(service.router.connections):
            if client.transport is not None:
                client.transport.close()
        await asyncio.gather(*(r.stop() for r in service.router.revisions.values()))
        self._services.pop(service.key, None)

    def revision(self, key: ServiceKey, name: str) -> KubeRevision | None:
        """The router's view of revision ``name`` (None: not started here)."""
        service = self._services.get(key)
        found = service.router.revisions.get(name) if service is not None else None
        return found if isinstance(found, KubeRevision) else None

    def status(self, key: ServiceKey) -> list[RevisionStatus]:
        service = self._services.get(key)
        if service is None:
            return []
        return [revision.status() for revision in service.router.revisions.values()]

    async def aclose(self) -> None:
        if self.reporter is not None:
            await self.reporter.aclose()
        for service in list(self._services.values()):
            service.router.closed = True
            service.router.notify()
            await self._stop(service)
        self.k8s.close()

    # what the watches see ------------------------------------------------------------------

    def _deployment(self, service: _Service, name: str, obj: dict[str, Any] | None) -> None:
        for revision in service.router.revisions.values():
            if (
                isinstance(revision, KubeRevision)
                and revision.objects.deployment["metadata"]["name"] == name
            ):
                revision.observe_deployment(obj)

    def _pod(self, service: _Service, name: str, obj: dict[str, Any] | None) -> None:
        if obj is None:
            for revision in service.router.revisions.values():
                if isinstance(revision, KubeRevision):
                    revision.observe_pod(name, None, self.clock())
            return
        found = service.revision(obj)
        if found is not None:
            found.observe_pod(name, obj, self.clock())

    def _tick(self, service: _Service) -> None:
        now = self.clock()
        for revision in service.router.revisions.values():
            if isinstance(revision, KubeRevision):
                revision.check(now)

    def _service(self, key: ServiceKey) -> _Service:
        service = self._services.get(key)
        if service is None:
            raise FleetError(
                f"InferenceService {key} has no router on this fleet: open_service first"
            )
        return service
