"""The training-job subscribers: thin. A command is recorded on the job's row (in the
handler's transaction) and the job's controller is woken once that commits; queries are
answered from the rows.

* ``SubmitTrainingJob``: the manifest is checked with the Kubeflow loader; an invalid one is
  recorded FAILED (reason ``InvalidManifest``, the loader's problems as its message) and
  ``TrainingJobFailed`` is published (`given_up` does the same, ``SubmitFailed``, for a
  submit the bus gives up on). A job whose namespace and name exist is the same job
  when its manifest (and folder) digest matches (nothing happens), and refused otherwise
  (the trainer logs it; ``headrace apply`` checks it first and says so).
* ``CancelTrainingJob`` (``headrace job delete``): every replica stopped, the job removed.
* ``SuspendTrainingJob`` / ``ResumeTrainingJob``: the gang stopped, the job kept / started
  again as a new attempt.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from headrace_contracts import (
    CancelTrainingJob,
    GetTrainingJob,
    ListTrainingJobs,
    ResumeTrainingJob,
    SubmitTrainingJob,
    SuspendTrainingJob,
    TrainingJobCreated,
    TrainingJobDetail,
    TrainingJobList,
    TrainingJobSuspended,
)
from headrace_contracts.kubeflow import ManifestError, manifest_digest, parse_training_job
from headrace_contracts.training_views import TRAINING_JOB_STATES
from headrace_runtime import HandlerContext
from headrace_telemetry import headers_of

from .codec import encode_state
from .controller import new_uid
from .given_up import record_failed_submit, with_command_failed
from .manager import JobManager
from .policy import GangPolicy, Phase
from .store import JobRows, TrainingJobRow, by_job_id, find
from .views import job_view

__all__ = ["JobHandlers"]

log = logging.getLogger("headrace.trainer.jobs")


class JobHandlers:
    def __init__(self, manager: JobManager, rows: JobRows) -> None:
        self.manager = manager
        self.rows = rows

    def _wake_after_commit(self, job_id: str) -> None:
        # The runtime commits right after the handler returns; the controller reads the
        # row again until it sees the commit.
        asyncio.get_running_loop().call_soon(self.manager.wake, job_id)

    # commands --------------------------------------------------------------------------

    async def submit(self, command: SubmitTrainingJob, ctx: HandlerContext[Any]) -> None:
        session, now = ctx.session, datetime.now(UTC)
        digest = manifest_digest(command.manifest, command.working_dir)
        try:
            job = parse_training_job(command.manifest)
        except ManifestError as error:
            record_failed_submit(command, ctx, "InvalidManifest", str(error))
            return
        existing = find(session, job.namespace, job.name)
        if existing is not None:
            if existing.spec_digest != digest:
                log.warning(
                    "training job %s/%s exists with another spec: submit %s refused (delete "
                    "it first, or give the new one another name)",
                    job.namespace,
                    job.name,
                    command.job_id,
                )
            return
        decision = GangPolicy(job).start(now)
        row = TrainingJobRow(
            job_id=command.job_id,
            uid=new_uid(),
            namespace=job.namespace,
            name=job.name,
            kind=job.kind,
            manifest=command.manifest,
            working_dir=command.working_dir,
            spec_digest=digest,
            run_id=command.run_id,
            step_id=command.step_id,
            trace_context=headers_of(),
            phase=decision.state.phase.value,
            state=encode_state(decision.state),
            created_at=now,
        )
        session.add(row)
        conditions = list(decision.state.conditions)
        ctx.publish(
            TrainingJobCreated(
                job_id=command.job_id,
                name=job.name,
                namespace=job.namespace,
                kind=job.kind,
                replicas={g.replica_type: g.count for g in job.replicas},
                conditions=conditions,
            )
        )
        if decision.state.phase == Phase.SUSPENDED:
            ctx.publish(TrainingJobSuspended(job_id=command.job_id, conditions=conditions))
        self._wake_after_commit(command.job_id)

    async def cancel(self, command: CancelTrainingJob, ctx: HandlerContext[Any]) -> None:
        self._request(ctx, command.job_id, "delete")

    async def suspend(self, command: SuspendTrainingJob, ctx: HandlerContext[Any]) -> None:
        self._request(ctx, command.job_id, "suspend")

    async def resume(self, command: ResumeTrainingJob, ctx: HandlerContext[Any]) -> None:
        self._request(ctx, command.job_id, "resume")

    def _request(self, ctx: HandlerContext[Any], job_id: str, request: str) -> None:
        row = by_job_id(ctx.session, job_id)
        if row is None:
            log.info("training job %s is not known: %s ignored", job_id, request)
            return
        values: dict[str, Any] = {"request": request}
        cleared = with_command_failed(row, None)  # an earlier command given up: past
        if cleared is not None:
            values["state"] = cleared
            asyncio.get_running_loop().call_soon(self.manager.command_failed, job_id, None)
        ctx.session.exec(
            update(TrainingJobRow).where(col(TrainingJobRow.job_id) == job_id).values(**values)
        )
        self._wake_after_commit(job_id)

    # queries ---------------------------------------------------------------------------

    async def get(self, query: GetTrainingJob) -> TrainingJobDetail:
        row = await asyncio.to_thread(self.rows.find, query.namespace, query.name)
        return TrainingJobDetail(job=job_view(row, with_replicas=True) if row else None)

    async def list(self, query: ListTrainingJobs) -> TrainingJobList:
        state = query.state.upper()
        if state and state not in TRAINING_JOB_STATES:
            return TrainingJobList(
                error=f"unknown job state {query.state!r}: one of {', '.join(TRAINING_JOB_STATES)}"
            )
        rows = await asyncio.to_thread(self.rows.listed, query.namespace, state, query.limit)
        return TrainingJobList(jobs=[job_view(row, with_replicas=False) for row in rows])
