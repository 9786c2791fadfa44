"""Bootstrap of the tuner: Katib experiments and trials.

The tuner's tables and its Optuna studies live in its own database
(``HEADRACE_TUNER_DATABASE_URL`` or ``HEADRACE_DATABASE_URL``, SQLite under the home by
default). Trials run as training jobs of the trainer: the tuner sends ``SubmitTrainingJob``
and follows the job's events and metrics. A message the bus gives up on ends on the
experiment or trial it concerns (`given_up`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import optuna
from opentelemetry.sdk.trace.export import SpanExporter
from sqlmodel import Session

from headrace_bus import DeadLetter
from headrace_contracts import (
    CreateExperiment,
    DeleteExperiment,
    GetExperiment,
    ListExperiments,
    ListTrials,
    MetricReported,
    Reply,
    StopExperiment,
    TrainingJobCancelled,
    TrainingJobFailed,
    TrainingJobRunning,
    TrainingJobSucceeded,
)
from headrace_runtime import HandlerContext, OutboxRelay, Service, Settings, run_service

from .driver import Driver
from .experiments.store import ExperimentRow, TrialRow
from .given_up import TunerGiveUps
from .handlers import TunerHandlers
from .search.study import Studies, open_storage

NAME = "tuner"


def build(
    settings: Settings, *, span_exporter: SpanExporter | None = None, interval: float = 2.0
) -> Service:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").propagate = True
    # One message per transaction: the driver is woken after each commit and reads it.
    service = Service(
        NAME, settings, tables=[ExperimentRow, TrialRow], span_exporter=span_exporter, batch=False
    )
    held: list[TunerHandlers] = []
    give_ups: list[TunerGiveUps] = []
    drivers: list[Driver] = []

    def handlers() -> TunerHandlers:
        return held[0]  # made at start, before the service consumes or answers

    def on(method: str) -> Any:
        async def handle(message: Any, ctx: HandlerContext[Any]) -> None:
            await getattr(handlers(), method)(message, ctx)

        return handle

    def given_up(method: str) -> Any:
        async def give_up(message: Any, ctx: HandlerContext[Any], dead: DeadLetter) -> None:
            await getattr(give_ups[0], method)(message, ctx, dead)

        return give_up

    service.handles(CreateExperiment, on_give_up=given_up("create"))(on("create"))
    service.handles(DeleteExperiment, on_give_up=given_up("delete"))(on("delete"))
    service.handles(StopExperiment, on_give_up=given_up("stop"))(on("stop"))
    trial_given_up = given_up("trial_event")
    service.handles(TrainingJobRunning, on_give_up=trial_given_up)(on("job_running"))
    service.handles(TrainingJobSucceeded, on_give_up=trial_given_up)(on("job_succeeded"))
    service.handles(TrainingJobFailed, on_give_up=trial_given_up)(on("job_failed"))
    service.handles(TrainingJobCancelled, on_give_up=trial_given_up)(on("job_cancelled"))
    service.handles(MetricReported, on_give_up=trial_given_up)(on("metric"))

    async def get(query: GetExperiment) -> Reply:
        return await handlers().get(query)

    async def listed(query: ListExperiments) -> Reply:
        return await handlers().list(query)

    service.answers(GetExperiment)(get)
    service.answers(ListExperiments)(listed)

    async def trials(query: ListTrials) -> Reply:
        return await handlers().trials(query)

    service.answers(ListTrials)(trials)

    @service.on_start
    async def start() -> None:
        assert service.engine is not None
        assert service.bus is not None
        engine = service.engine
        url = settings.database_url_for(NAME)
        storage = await asyncio.to_thread(open_storage, url, NAME)
        relay = OutboxRelay(service.bus, engine)
        driver = Driver(engine, Studies(storage), relay, service.source, interval=interval)
        driver.bind(asyncio.get_running_loop())
        drivers.append(driver)
        held.append(TunerHandlers(driver.wake, lambda: Session(engine, expire_on_commit=False)))
        give_ups.append(TunerGiveUps(driver.wake))
        await driver.start()

    @service.on_stop
    async def stop() -> None:
        for driver in drivers:
            await driver.stop()

    return service


def main() -> None:
    run_service(build)
