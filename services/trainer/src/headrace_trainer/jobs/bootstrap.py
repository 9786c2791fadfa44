"""Training jobs in the trainer service: the local backend, the controllers, the handlers
and the query responders, wired at service start."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from headrace_artifacts import ArtifactStore
from headrace_bus import DeadLetter
from headrace_contracts import (
    CancelTrainingJob,
    GetTrainingJob,
    ListTrainingJobs,
    Reply,
    ResumeTrainingJob,
    SubmitTrainingJob,
    SuspendTrainingJob,
)
from headrace_runtime import HandlerContext, OutboxRelay, Service

from ..backends.kubernetes.backend import KubernetesBackend
from ..backends.local import LocalBackend
from ..placement import Placement
from .controller import ControllerDeps
from .given_up import command_given_up, submit_given_up
from .handlers import JobHandlers
from .ledger import JobLedger
from .manager import JobManager
from .policy import Backoff
from .store import JobRows

__all__ = ["add_training_jobs"]


def add_training_jobs(
    service: Service,
    home: Path,
    store: ArtifactStore,
    placement: Placement,
    *,
    backoff: Backoff | None = None,
    log_upload_seconds: float = 2.0,
    stop_grace: float = 10.0,
    backend: KubernetesBackend | None = None,
) -> LocalBackend | KubernetesBackend:
    """Register the training-job handlers on ``service``; gangs run as local processes
    recorded under ``<home>/gangs`` (or on ``backend``, the Kubernetes one), job folders
    under ``<home>/training-jobs``."""
    jobs_backend: LocalBackend | KubernetesBackend = backend or LocalBackend(
        home / "gangs",
        placement.capacity,
        enforcer=placement.enforcer,
        store=store,
        log_upload_seconds=log_upload_seconds,
    )
    held: list[JobHandlers] = []

    def handlers() -> JobHandlers:
        return held[0]  # made at start, before the service consumes or answers

    async def submit(command: SubmitTrainingJob, ctx: HandlerContext[Any]) -> None:
        await handlers().submit(command, ctx)

    async def cancel(command: CancelTrainingJob, ctx: HandlerContext[Any]) -> None:
        await handlers().cancel(command, ctx)

    async def suspend(command: SuspendTrainingJob, ctx: HandlerContext[Any]) -> None:
        await handlers().suspend(command, ctx)

    async def resume(command: ResumeTrainingJob, ctx: HandlerContext[Any]) -> None:
        await handlers().resume(command, ctx)

    async def get(query: GetTrainingJob) -> Reply:
        return await handlers().get(query)

    async def listed(query: ListTrainingJobs) -> Reply:
        return await handlers().list(query)

    async def command_failed(
        command: CancelTrainingJob | SuspendTrainingJob | ResumeTrainingJob,
        ctx: HandlerContext[Any],
        dead: DeadLetter,
    ) -> None:
        condition = await command_given_up(command, ctx, dead)
        if condition is not None:  # the controller writes the job's conditions from memory
            manager = handlers().manager
            asyncio.get_running_loop().call_soon(manager.command_failed, command.job_id, condition)

    service.handles(SubmitTrainingJob, on_give_up=submit_given_up)(submit)
    service.handles(CancelTrainingJob, on_give_up=command_failed)(cancel)
    service.handles(SuspendTrainingJob, on_give_up=command_failed)(suspend)
    service.handles(ResumeTrainingJob, on_give_up=command_failed)(resume)
    service.answers(GetTrainingJob)(get)
    service.answers(ListTrainingJobs)(listed)

    @service.on_start
    async def start_jobs() -> None:
        assert service.engine is not None
        assert service.bus is not None
        assert service.tracer_provider is not None
        relay = OutboxRelay(service.bus, service.engine)
        rows = JobRows(service.engine)
        deps = ControllerDeps(
            backend=jobs_backend,
            rows=rows,
            ledger=JobLedger(service.engine, relay, service.source),
            store=store,
            jobs_root=home / "training-jobs",
            python_bin=str(Path(sys.executable).parent),
            path=os.environ.get("PATH", os.defpath),
            backoff=backoff or Backoff(),
            stop_grace=stop_grace,
            tracer=service.tracer_provider.get_tracer("headrace.trainer"),
        )
        manager = JobManager(deps)
        held.append(JobHandlers(manager, rows))
        await manager.start()

    @service.on_stop
    async def stop_jobs() -> None:
        if held:
            await held[0].manager.stop()
        await jobs_backend.close()

    return jobs_backend
