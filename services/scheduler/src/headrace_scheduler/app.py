"""Bootstrap of the scheduler: KFP v2 pipeline runs driven by events."""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.trace.export import SpanExporter

from headrace_artifacts import ArtifactStore, open_store
from headrace_contracts import (
    CancelRun,
    GetRun,
    ResolvedModel,
    ResolveModel,
    RunDetail,
    StepCancelled,
    StepFailed,
    StepStarted,
    StepSucceeded,
    SubmitRun,
)
from headrace_pipelines import load_protobuf_support
from headrace_runtime import Service, Settings, run_service, settings_from_environment

from .compaction import CompactionSettings, Compactor
from .handlers import Scheduler
from .schedules import SCHEDULE_TABLES
from .schedules import install as install_schedules
from .store import TABLES
from .triggers import TRIGGER_TABLES
from .triggers import install as install_triggers

NAME = "scheduler"


def build(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    compaction: CompactionSettings | None = None,
) -> Service:
    """``compaction``: default from ``HEADRACE_SCHEDULER_COMPACT_*`` (:mod:`.compaction`)."""
    compaction = compaction or settings_from_environment(CompactionSettings)
    service = Service(
        NAME,
        settings,
        tables=[*TABLES, *TRIGGER_TABLES, *SCHEDULE_TABLES],
        span_exporter=span_exporter,
    )

    def artifacts() -> ArtifactStore:
        return open_store(settings.artifacts_root(), **settings.s3_options())

    def engine():  # type: ignore[no-untyped-def]
        assert service.engine is not None
        return service.engine

    async def resolve_model(uri: str) -> ResolvedModel:
        assert service.bus is not None
        reply = await service.bus.request(ResolveModel(uri=uri), timeout=10.0)
        assert isinstance(reply, ResolvedModel)
        return reply

    scheduler = Scheduler(artifacts, engine=engine, resolve_model=resolve_model)

    @service.on_start
    async def warm_up() -> None:
        await asyncio.to_thread(load_protobuf_support)

    # Every message belongs to a run: when the bus gives up on one, the run ends visibly.
    give_up = scheduler.given_up
    service.handles(SubmitRun, on_give_up=give_up)(scheduler.submit)
    service.handles(CancelRun, on_give_up=give_up)(scheduler.cancel)
    service.handles(StepStarted, on_give_up=give_up)(scheduler.started)
    service.handles(StepSucceeded, on_give_up=give_up)(scheduler.succeeded)
    service.handles(StepFailed, on_give_up=give_up)(scheduler.failed)
    service.handles(StepCancelled, on_give_up=give_up)(scheduler.cancelled)

    install_triggers(service, engine)
    install_schedules(service, engine)

    compactor = Compactor(engine, compaction)
    service.on_start(compactor.start)
    service.on_stop(compactor.stop)

    @service.answers(GetRun)
    async def get_run(query: GetRun) -> RunDetail:
        # In a thread: reading and rendering a large run must not hold up step events.
        return await asyncio.to_thread(scheduler.get_run, query.run_id, steps=query.steps)

    return service


def main() -> None:
    run_service(build)
