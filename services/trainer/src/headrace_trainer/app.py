"""Bootstrap of the workload launcher: KFP steps and training jobs as local processes (the
local backend), or as Kubernetes Jobs with ``HEADRACE_BACKEND=kubernetes`` (`KubernetesSettings`).

Settings read: the service's (`headrace_runtime.Settings`: home, NATS, artifact store root
and S3 credentials) and `TrainerSettings` (``HEADRACE_TRAINER_CONCURRENCY``,
``HEADRACE_TRAINER_FORK_SERVER``, ``HEADRACE_TRAINER_CANCEL_MEMORY_SECONDS``,
``HEADRACE_TRAINER_RECORD_RETENTION_SECONDS``). Step attempts are recorded below
``<home>/work`` (see `ledger`): a trainer started on the same home adopts the steps a dead
one left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.trace.export import SpanExporter

from headrace_artifacts import ArtifactStore, open_store
from headrace_contracts import CancelStep, Message, StepReady
from headrace_runtime import Service, Settings, run_service

from .backends.kubernetes import KubernetesSettings, open_kubernetes
from .config import TrainerSettings
from .envs import environments_for
from .errors import ForkServerDied
from .executor import Runner, SubprocessRunner
from .forkserver.client import ForkServerRunner
from .jobs.bootstrap import add_training_jobs
from .jobs.policy import Backoff
from .jobs.store import TrainingJobRow
from .launcher import LocalLauncher

NAME = "trainer"
log = logging.getLogger("headrace.trainer")


def open_artifact_store(settings: Settings) -> ArtifactStore:
    return open_store(settings.artifacts_root(), **settings.s3_options())


def build(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    trainer: TrainerSettings | None = None,
) -> Service:
    config = trainer or TrainerSettings()
    # A StepReady handler runs its step to the end: one message per handling, never a batch.
    service = Service(
        NAME,
        settings,
        tables=[TrainingJobRow],
        span_exporter=span_exporter,
        concurrency=config.handler_concurrency,
        batch=False,
    )
    runner: Runner = ForkServerRunner() if config.fork_server else SubprocessRunner()
    store = open_artifact_store(settings)
    kubernetes = KubernetesSettings()
    backend = (
        open_kubernetes(kubernetes, store=store, spool=settings.home / "kubernetes-logs")
        if kubernetes.backend == "kubernetes"
        else None
    )

    async def announce(message: Message, event_id: str) -> None:
        assert service.bus is not None
        await service.bus.publish(message, event_id=event_id)

    launcher = LocalLauncher(
        store=store,
        work_root=settings.home / "work",
        runner=runner,
        worker=service.instance,
        announce=announce,
        config=config,
        service=NAME,
        environments=(
            environments_for(service, settings.home / "envs", config)
            if config.step_environments
            else None
        ),
        backend=backend,
    )
    service.handles(StepReady, on_give_up=launcher.given_up)(launcher.handle)
    add_training_jobs(
        service,
        settings.home,
        launcher.store,
        launcher.placement,
        backoff=Backoff(initial=config.job_backoff_seconds),
        log_upload_seconds=config.job_log_upload_seconds,
        backend=backend,
    )
    service.listens(CancelStep)(launcher.cancel)
    sweeper: list[asyncio.Task[None]] = []

    async def prune() -> None:
        while True:
            try:
                removed = await asyncio.to_thread(
                    launcher.ledger.prune, config.record_retention_seconds
                )
            except OSError as error:
                log.warning("could not prune old step records: %s", error)
            else:
                if removed:
                    log.info("pruned %d old step attempt records", removed)
            await asyncio.sleep(config.prune_interval)

    @service.on_start
    async def start_pruning() -> None:
        sweeper.append(asyncio.create_task(prune(), name="trainer-prune"))

    @service.on_start
    async def trace_steps() -> None:
        assert service.tracer_provider is not None
        launcher.tracer = service.tracer_provider.get_tracer("headrace.trainer")

    @service.on_start
    async def measure_slots() -> None:
        def slots(_: CallbackOptions) -> list[Observation]:
            return [
                Observation(launcher.slots_used, {"state": "used"}),
                Observation(config.concurrency, {"state": "capacity"}),
            ]

        service.meter.create_observable_gauge(
            "headrace.launcher.slots",
            callbacks=[slots],
            unit="{slot}",
            description="the trainer's step slots: in use, and how many there are",
        )

    @service.on_stop
    async def stop_pruning() -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    if isinstance(runner, ForkServerRunner):
        fork_runner = runner

        @service.on_start
        async def start_fork_server() -> None:
            try:
                await fork_runner.open()
            except ForkServerDied as error:
                log.warning("%s; lightweight steps run as plain subprocesses", error)

        @service.on_stop
        async def stop_fork_server() -> None:
            await fork_runner.close()

    return service


def main() -> None:
    run_service(build)
