"""Bootstrap of the serving manager: KServe InferenceServices.

The control plane (handlers, tables, rollouts) lives here; the data plane (model-server
replicas, one router per service, autoscaling) is a `Fleet` made at start by
``fleet_factory(events)`` (default: ``headrace_serving.fleet.LocalFleet``, logs under
``<home>/logs/serving``; with ``HEADRACE_SERVING_BACKEND=kubernetes``, or
``HEADRACE_BACKEND=kubernetes`` when that is unset, the
``headrace_serving.kubernetes.KubernetesFleet`` of docs/kubernetes.md). ``models:/``
storage URIs are resolved by the registry (the metadata service's ``ResolveModel``) when
applied; model servers get ``HEADRACE_NATS_URL`` to load them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Tracer
from pydantic import ValidationError
from sqlmodel import Session

from headrace_bus import Bus, NoResponders
from headrace_contracts import (
    ApplyInferenceService,
    DeleteInferenceService,
    GetInferenceService,
    ListInferenceServices,
    ModelPromoted,
    Reply,
    ResolvedModel,
    ResolveModel,
    ShiftTraffic,
)
from headrace_runtime import HandlerContext, OutboxRelay, Service, Settings, run_service

from .controller import Controller
from .dataplane import Fleet, FleetError, FleetEvents
from .given_up import apply_given_up, command_given_up, promotion_given_up
from .handlers import Resolve, ServingHandlers
from .store import RevisionRow, ServiceRow
from .traffic_settings import TrafficSettings

NAME = "serving"
RESOLVE_TIMEOUT = 10.0

FleetFactory = Callable[[FleetEvents], Fleet]


def build(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    fleet_factory: FleetFactory | None = None,
) -> Service:
    service = Service(
        NAME, settings, tables=[ServiceRow, RevisionRow], span_exporter=span_exporter, batch=False
    )
    held: list[ServingHandlers] = []
    controllers: list[Controller] = []

    def handlers() -> ServingHandlers:
        return held[0]  # made at start, before the service consumes or answers

    def on(method: str) -> Any:
        async def handle(message: Any, ctx: HandlerContext[Any]) -> None:
            await getattr(handlers(), method)(message, ctx)

        return handle

    service.handles(ApplyInferenceService, on_give_up=apply_given_up)(on("apply"))
    service.handles(ShiftTraffic, on_give_up=command_given_up)(on("shift"))
    service.handles(DeleteInferenceService, on_give_up=command_given_up)(on("delete"))
    service.handles(ModelPromoted, on_give_up=promotion_given_up)(on("promoted"))

    async def get(query: GetInferenceService) -> Reply:
        return await handlers().get(query)

    async def listed(query: ListInferenceServices) -> Reply:
        return await handlers().list(query)

    service.answers(GetInferenceService)(get)
    service.answers(ListInferenceServices)(listed)

    @service.on_start
    async def start() -> None:
        assert service.engine is not None
        assert service.bus is not None
        engine, bus = service.engine, service.bus
        relay = OutboxRelay(bus, engine, interval=settings.outbox_interval)
        controller = Controller(engine, relay, bus, service.source)
        assert service.tracer_provider is not None
        tracer = service.tracer_provider.get_tracer("headrace.serving")
        make = fleet_factory or _default_fleet(settings, service.meter, tracer)
        env = {"HEADRACE_NATS_URL": settings.nats_url}
        held.append(
            ServingHandlers(
                _resolver(bus),
                controller.wake,
                env,
                lambda: Session(engine, expire_on_commit=False),
            )
        )
        controllers.append(controller)
        await controller.start(make(controller))

    @service.on_stop
    async def stop() -> None:
        for controller in controllers:
            await controller.stop()

    return service


def _default_fleet(settings: Settings, meter: Meter, tracer: Tracer) -> FleetFactory:
    from .kubernetes.settings import ServingKubernetesSettings

    try:
        kube = ServingKubernetesSettings()
    except ValidationError as error:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        why = f"the serving service's Kubernetes settings are invalid: {reasons}"
        raise FleetError(why) from None
    try:
        traffic = TrafficSettings()
    except ValidationError as error:
        reasons = "; ".join(str(e["msg"]) for e in error.errors())
        raise FleetError(
            f"HEADRACE_SERVING_TRAFFIC_INTERVAL is invalid: {reasons}; give seconds, e.g. 5, "
            "or 0 to publish no traffic summaries"
        ) from None
    if kube.backend == "kubernetes":
        kube.require_image()

        def make_kubernetes(events: FleetEvents) -> Fleet:
            from .kubernetes.api import connect
            from .kubernetes.fleet import KubernetesFleet

            fleet: Fleet = KubernetesFleet(
                events, kube, connect(kube), tracer=tracer, traffic_interval=traffic.every()
            )
            return fleet

        return make_kubernetes

    def make(events: FleetEvents) -> Fleet:
        from .fleet import LocalFleet

        fleet: Fleet = LocalFleet(
            events,
            logs_dir=settings.home / "logs" / "serving",
            meter=meter,
            tracer=tracer,
            traffic_interval=traffic.every(),
        )
        return fleet

    return make


def _resolver(bus: Bus) -> Resolve:
    async def resolve(uri: str, namespace: str) -> tuple[str, str | None]:
        try:
            reply = await bus.request(
                ResolveModel(uri=uri, namespace=namespace), timeout=RESOLVE_TIMEOUT
            )
        except NoResponders:
            raise LookupError(
                f"{uri} cannot be resolved: no metadata service (the registry) answered; "
                "start it (`headrace up`) and apply again"
            ) from None
        assert isinstance(reply, ResolvedModel)
        if reply.version is None:
            raise LookupError(f"storageUri {reply.reason}")
        version = reply.version
        return f"models:/{version.model_name}/{version.version}", str(version.version)

    return resolve


def main() -> None:
    run_service(build)


__all__ = ["NAME", "FleetFactory", "build", "main"]
