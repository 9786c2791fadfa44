"""When the bus gives up on one of the tuner's messages (an error that is not retryable, or
retries used up), the experiment or the trial it concerns shows it, in a transaction of its
own:

* ``CreateExperiment``: the experiment is recorded FAILED (reason ``CreateFailed``, the error
  as its message) and ``ExperimentFailed`` published, so ``headrace apply`` / ``experiment
  get/wait`` say why. One already recorded by an earlier delivery is left as it is.
* ``StopExperiment`` / ``DeleteExperiment``: the experiment keeps its state; its reason
  (``StopFailed``, ``DeleteFailed``) and message say the command could not be carried out and
  why, and ``headrace experiment stop/delete`` reports it instead of waiting.
* A trial's job event or ``MetricReported``: the trial ends FAILED (reason ``TrialFailed``,
  the error in its message) and ``TrialFailed`` is published, so the experiment's count of
  trials stays whole and it goes on; a job still running for it is deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from headrace_bus import DeadLetter
from headrace_contracts import (
    CancelTrainingJob,
    CreateExperiment,
    DeleteExperiment,
    ExperimentFailed,
    Message,
    MetricReported,
    StopExperiment,
    TrainingJobCancelled,
    TrainingJobFailed,
    TrainingJobRunning,
    TrainingJobSucceeded,
    TrialFailed,
)
from headrace_runtime import HandlerContext

from .experiments.store import ExperimentRow, TrialRow, experiment_by_id, utcnow
from .handlers import spec_digest

__all__ = ["COMMAND_FAILED", "TunerGiveUps"]

log = logging.getLogger("headrace.tuner")

KEY = "given-up"
COMMAND_FAILED = ("StopFailed", "DeleteFailed")

TrialEvent = (
    TrainingJobRunning
    | TrainingJobSucceeded
    | TrainingJobFailed
    | TrainingJobCancelled
    | MetricReported
)


def _why(what: str, dead: DeadLetter) -> str:
    # the time tells one failed command from the one before it, in the same words
    at = f"{utcnow():%H:%M:%S.%f}"[:-3]
    return f"the tuner could not {what}: {dead.summary} (at {at} UTC; its log has the details)"


class TunerGiveUps:
    """The give-up hooks; ``wake(experiment_id)`` runs the driver once the hook commits."""

    def __init__(self, wake: Callable[[str], None]) -> None:
        self._wake = wake

    def _wake_after_commit(self, experiment_id: str) -> None:
        asyncio.get_running_loop().call_soon(self._wake, experiment_id)

    async def create(
        self, command: CreateExperiment, ctx: HandlerContext[Any], dead: DeadLetter
    ) -> None:
        metadata = command.spec.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        namespace, _, fallback = command.experiment_id.rpartition("/")
        name = str(metadata.get("name") or fallback)
        namespace = str(metadata.get("namespace") or namespace or "default")
        existing = ctx.session.exec(
            select(ExperimentRow).where(
                ExperimentRow.namespace == namespace, ExperimentRow.name == name
            )
        ).first()
        message = _why("create the experiment", dead) + "; apply it again"
        if existing is not None:
            log.warning("experiment %s/%s: %s (it exists)", namespace, name, message)
            return
        ctx.session.add(
            ExperimentRow(
                experiment_id=command.experiment_id,
                uid=hashlib.sha256(ctx.event_id.encode()).hexdigest()[:5],
                namespace=namespace,
                name=name,
                spec=command.spec,
                digest=spec_digest(command.spec, command.working_dir),
                working_dir=command.working_dir,
                run_id=command.run_id,
                step_id=command.step_id,
                state="FAILED",
                reason="CreateFailed",
                message=message,
                finished_at=utcnow(),
            )
        )
        failed = ExperimentFailed(
            experiment_id=command.experiment_id, reason=message, condition="CreateFailed"
        )
        ctx.publish(failed, key=KEY)

    async def stop(
        self, command: StopExperiment, ctx: HandlerContext[Any], dead: DeadLetter
    ) -> None:
        self._command_failed(ctx, command.experiment_id, "stop", "StopFailed", dead)

    async def delete(
        self, command: DeleteExperiment, ctx: HandlerContext[Any], dead: DeadLetter
    ) -> None:
        self._command_failed(ctx, command.experiment_id, "delete", "DeleteFailed", dead)

    def _command_failed(
        self, ctx: HandlerContext[Any], experiment_id: str, verb: str, reason: str, dead: DeadLetter
    ) -> None:
        row = experiment_by_id(ctx.session, experiment_id)
        if row is None:
            log.warning("experiment %s: %s given up, and no such experiment", experiment_id, verb)
            return
        row.reason, row.message = reason, _why(f"{verb} the experiment", dead) + "; try again"
        ctx.session.add(row)
        log.warning("experiment %s: %s", experiment_id, row.message)

    async def trial_event(
        self, event: TrialEvent, ctx: HandlerContext[Any], dead: DeadLetter
    ) -> None:
        if not event.job_id:
            return
        trial = ctx.session.exec(select(TrialRow).where(TrialRow.job_id == event.job_id)).first()
        if trial is None or trial.state not in ("CREATED", "RUNNING"):
            return
        what = type(event).__name__
        trial.state, trial.reason = "FAILED", "TrialFailed"
        trial.message = _why(f"record its job's {what}", dead)
        trial.finished_at = utcnow()
        ctx.session.add(trial)
        events: list[Message] = []
        if isinstance(event, TrainingJobRunning | MetricReported):  # its job still runs
            events.append(CancelTrainingJob(job_id=trial.job_id, reason=trial.message))
        events.append(
            TrialFailed(
                experiment_id=trial.experiment_id, trial_id=trial.name, reason=trial.message
            )
        )
        for position, message in enumerate(events):
            ctx.publish(message, key=f"{KEY}/{trial.name}/{position}")
        self._wake_after_commit(trial.experiment_id)
