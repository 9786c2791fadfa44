"""When the bus gives up on a training-job command (an error that is not retryable, or
retries used up), the job shows it, in a transaction of its own:

* ``SubmitTrainingJob``: the job is recorded FAILED (reason ``SubmitFailed``, the error in
  its ``Failed`` condition) and ``TrainingJobFailed`` is published, so ``headrace job
  get/wait`` (and a pipeline step or a tuner trial waiting on it) says why instead of waiting
  for a job nobody recorded. A job already recorded by an earlier delivery is left as it is.
* ``CancelTrainingJob`` / ``SuspendTrainingJob`` / ``ResumeTrainingJob``: the job keeps its
  state; a ``CommandFailed`` condition (reason ``DeleteFailed``, ``SuspendFailed``,
  ``ResumeFailed``) says which command could not be carried out and why (``headrace job get``
  lists it); send the command again once the trainer works.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from headrace_bus import DeadLetter
from headrace_contracts import (
    CancelTrainingJob,
    JobCondition,
    ResumeTrainingJob,
    SubmitTrainingJob,
    SuspendTrainingJob,
    TrainingJobFailed,
)
from headrace_contracts.kubeflow import manifest_digest
from headrace_runtime import HandlerContext

from .codec import decode_state, encode_state
from .conditions import COMMAND_FAILED, timestamp
from .controller import new_uid
from .policy import JobState, Phase
from .store import TrainingJobRow, by_job_id, find

__all__ = ["command_given_up", "record_failed_submit", "submit_given_up", "with_command_failed"]

log = logging.getLogger("headrace.trainer.jobs")

KEY = "given-up"


def _why(what: str, dead: DeadLetter) -> str:
    return f"the trainer could not {what}: {dead.summary} (its log has the details; try again)"


def record_failed_submit(
    command: SubmitTrainingJob, ctx: HandlerContext[Any], reason: str, message: str
) -> bool:
    """Record the job of ``command`` FAILED with ``reason`` (``InvalidManifest``,
    ``SubmitFailed``) and ``message``, and publish ``TrainingJobFailed``; False (nothing
    done) when a job of that namespace and name is already recorded."""
    now = datetime.now(UTC)
    metadata = command.manifest.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = str(metadata.get("name") or command.job_id.rpartition("/")[2])
    namespace = str(metadata.get("namespace") or command.namespace)
    if find(ctx.session, namespace, name) is not None:
        log.warning(
            "training job %s/%s: %s refused (%s): it exists", namespace, name, reason, message
        )
        return False
    condition = JobCondition(
        type="Failed",
        status="True",
        reason=reason,
        message=message,
        last_transition_time=timestamp(now),
    )
    state = JobState(phase=Phase.FAILED, conditions=(condition,))
    ctx.session.add(
        TrainingJobRow(
            job_id=command.job_id,
            uid=new_uid(),
            namespace=namespace,
            name=name,
            kind=str(command.manifest.get("kind", "")),
            manifest=command.manifest,
            working_dir=command.working_dir,
            spec_digest=manifest_digest(command.manifest, command.working_dir),
            run_id=command.run_id,
            step_id=command.step_id,
            phase=Phase.FAILED.value,
            state=encode_state(state),
            reason=reason,
            created_at=now,
            finished_at=now,
        )
    )
    ctx.publish(
        TrainingJobFailed(job_id=command.job_id, reason=message, conditions=[condition]),
        key=KEY if reason == "SubmitFailed" else "",
    )
    return True


async def submit_given_up(
    command: SubmitTrainingJob, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
    record_failed_submit(command, ctx, "SubmitFailed", _why("record the job", dead))


_VERBS = {
    CancelTrainingJob: ("delete", "DeleteFailed"),
    SuspendTrainingJob: ("suspend", "SuspendFailed"),
    ResumeTrainingJob: ("resume", "ResumeFailed"),
}


def with_command_failed(
    row: TrainingJobRow, condition: JobCondition | None
) -> dict[str, Any] | None:
    """The row's encoded state with ``condition`` as its ``CommandFailed`` condition (None:
    without one); None when nothing changes."""
    state = decode_state(row.state) if row.state else JobState(phase=Phase(row.phase))
    kept = tuple(c for c in state.conditions if c.type != COMMAND_FAILED)
    if condition is None and len(kept) == len(state.conditions):
        return None
    extra = (condition,) if condition is not None else ()
    return encode_state(dataclasses.replace(state, conditions=(*kept, *extra)))


async def command_given_up(
    command: CancelTrainingJob | SuspendTrainingJob | ResumeTrainingJob,
    ctx: HandlerContext[Any],
    dead: DeadLetter,
) -> JobCondition | None:
    """Record the ``CommandFailed`` condition on the job's row and return it (for the job's
    controller to keep); None when the job is not known."""
    verb, reason = _VERBS[type(command)]
    row = by_job_id(ctx.session, command.job_id)
    if row is None:
        log.warning("training job %s: %s given up, and no such job", command.job_id, verb)
        return None
    message = _why(f"{verb} the job", dead)
    failed = JobCondition(
        type=COMMAND_FAILED,
        status="True",
        reason=reason,
        message=message,
        last_transition_time=timestamp(datetime.now(UTC)),
    )
    ctx.session.exec(
        update(TrainingJobRow)
        .where(col(TrainingJobRow.job_id) == command.job_id)
        .values(state=with_command_failed(row, failed))
    )
    log.warning("training job %s: %s", row.name, message)
    return failed
