"""How one run or step event changes the read model's rows: pure, no I/O.

Every change is a merge that gives the same rows whatever order the events arrive in and
however often each arrives:

* A run's state only moves up :data:`RUN_RANK` (a final state is above every other, so a
  late ``RunStarted`` never undoes ``RunSucceeded``); on a tie the earlier event wins.
* A step's state is the greatest ``(override, attempt, rank)``: a later attempt supersedes
  an earlier one (a retry makes a FAILED step READY again), and the attempt-less endings
  (cached, skipped, cancelled) override any attempt.
* What only ``SubmitRun`` says (arguments, labels, experiment, creation time) is taken from
  the first ``SubmitRun``; until it arrives the run is a placeholder created at the time of
  the earliest event seen.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from headrace_contracts import (
    Message,
    RunCancelled,
    RunFailed,
    RunRejected,
    RunStarted,
    RunSucceeded,
    StepCached,
    StepCancelled,
    StepFailed,
    StepReady,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    SubmitRun,
)

from .drafts import RunDraft, StepDraft
from .tables import NO_DURATION, NOT_FINISHED, RunRow

RUN_RANK = {
    "PENDING": 0,
    "RUNNING": 1,
    "CANCELLING": 2,
    "SUCCEEDED": 3,
    "CANCELLED": 4,
    "FAILED": 5,
    "REJECTED": 6,
}
RUN_FINAL = frozenset({"SUCCEEDED", "CANCELLED", "FAILED", "REJECTED"})
STEP_RANK = {
    "PENDING": 0,
    "READY": 1,
    "RUNNING": 2,
    "SUCCEEDED": 3,
    "FAILED": 4,
    "SKIPPED": 1,
    "CACHED": 2,
    "CANCELLED": 3,
}
STEP_FINAL = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "CACHED", "CANCELLED"})
OVERRIDE_ATTEMPT = 1_000_000  # the details of an attempt-less ending outrank every attempt

RUN_EVENTS: tuple[type[Message], ...] = (
    SubmitRun,
    RunStarted,
    RunSucceeded,
    RunFailed,
    RunCancelled,
    RunRejected,
)
STEP_EVENTS: tuple[type[Message], ...] = (
    StepReady,
    StepStarted,
    StepSucceeded,
    StepFailed,
    StepCached,
    StepSkipped,
    StepCancelled,
)


def utc(value: datetime | None) -> datetime:
    """``value`` in UTC (a naive one is taken as UTC); now when there is none."""
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def new_run(run_id: str, at: datetime) -> RunDraft:
    return RunDraft(run_id=run_id, created_at=at)


def new_step(run_id: str, step_id: str) -> StepDraft:
    parent, _, task = step_id.rpartition("/")
    return StepDraft(run_id=run_id, step_id=step_id, task_name=task, parent=parent)


# runs -----------------------------------------------------------------------------------


def apply_run(row: RunDraft, message: Message, at: datetime) -> bool:
    """Merge ``message`` (published at ``at``) into ``row``; True when it is the run's
    first ``SubmitRun`` (its labels are then to be written)."""
    first_submit = False
    if isinstance(message, SubmitRun):
        if not row.submitted:
            first_submit = True
            row.submitted = True
            row.created_at = at
            row.display_name = message.display_name
            row.experiment = message.experiment
            row.enable_caching = message.enable_caching
            row.arguments = dict(message.arguments)
            row.labels = dict(message.labels)
            _raise(row, "PENDING", at)
    elif not row.submitted and at < row.created_at:
        row.created_at = at
    if isinstance(message, RunStarted):
        if message.pipeline_name:
            row.pipeline_name = message.pipeline_name
        row.step_count = max(row.step_count, message.step_count)
        if row.started_at is None or at < row.started_at:
            row.started_at = at
        _raise(row, "RUNNING", at)
    elif isinstance(message, RunSucceeded):
        row.output_parameters = dict(message.output_parameters)
        row.output_artifacts = _dump(message.output_artifacts)
        _raise(row, "SUCCEEDED", at, error="")
    elif isinstance(message, RunFailed):
        _raise(row, "FAILED", at, error=message.reason)
    elif isinstance(message, RunCancelled):
        _raise(row, "CANCELLED", at, error=message.reason)
    elif isinstance(message, RunRejected):
        _raise(row, "REJECTED", at, error=message.reason)
    elif isinstance(message, STEP_EVENTS):
        # A step moving means the run runs, whether or not RunStarted has arrived yet.
        if isinstance(message, StepReady) and message.pipeline_name and not row.pipeline_name:
            row.pipeline_name = message.pipeline_name
        _raise(row, "RUNNING", at)
    _timings(row)
    return first_submit


def _raise(row: RunDraft, state: str, at: datetime, *, error: str | None = None) -> None:
    rank = RUN_RANK[state]
    if rank < row.state_rank:
        return
    if rank == row.state_rank and row.state_at is not None and at >= row.state_at:
        return
    row.state, row.state_rank, row.state_at = state, rank, at
    if error is not None:
        row.error = error
    row.finished_at = at if state in RUN_FINAL else None


def _timings(row: RunDraft) -> None:
    row.finished_order = row.finished_at or NOT_FINISHED
    row.duration_order = NO_DURATION
    if row.finished_at is not None:
        start = row.started_at or row.created_at
        row.duration_order = max((row.finished_at - start).total_seconds(), 0.0)


def duration(row: RunDraft | RunRow) -> float | None:
    return None if row.duration_order == NO_DURATION else round(row.duration_order, 3)


# steps ----------------------------------------------------------------------------------


def apply_step(row: StepDraft, message: Message, at: datetime) -> None:
    """Merge a step event (published at ``at``) into its step's ``row``."""
    if isinstance(message, StepReady):
        row.task_name = message.task_name
        row.kind = "importer" if "importer" in message.executor else "container"
        _attempt(row, message.attempt)
        _raise_step(row, (0, message.attempt, "READY"), at, reason="")
    elif isinstance(message, StepStarted):
        _attempt(row, message.attempt)
        if message.attempt > row.started_attempt or (
            message.attempt == row.started_attempt
            and (row.started_at is None or at < row.started_at)
        ):
            row.started_attempt, row.started_at = message.attempt, at
            row.worker = message.worker
        if message.log_uri and message.attempt > row.detail_attempt:
            row.log_uri = message.log_uri  # copied there while it runs
        _raise_step(row, (0, message.attempt, "RUNNING"), at, reason="")
    elif isinstance(message, StepSucceeded):
        _attempt(row, message.attempt)
        if _details(row, message.attempt):
            row.output_parameters = dict(message.output_parameters)
            row.output_artifacts = _dump(message.output_artifacts)
            row.log_uri = message.log_uri
            row.exit_code = None
            row.duration_seconds = message.duration_seconds or None
        _raise_step(row, (0, message.attempt, "SUCCEEDED"), at, reason="")
    elif isinstance(message, StepFailed):
        _attempt(row, message.attempt)
        if _details(row, message.attempt):
            row.log_uri = message.log_uri
            row.exit_code = message.exit_code
        _raise_step(row, (0, message.attempt, "FAILED"), at, reason=message.reason)
    elif isinstance(message, StepCached):
        row.cached = True
        row.cache_source_run_id = message.source_run_id
        if _details(row, OVERRIDE_ATTEMPT):
            row.output_parameters = dict(message.output_parameters)
            row.output_artifacts = _dump(message.output_artifacts)
        _raise_step(row, (1, 0, "CACHED"), at, reason="")
    elif isinstance(message, StepSkipped):
        if message.kind:
            row.kind = message.kind
        _raise_step(row, (1, 0, "SKIPPED"), at, reason=message.reason)
    elif isinstance(message, StepCancelled):
        _raise_step(row, (1, 0, "CANCELLED"), at, reason=message.reason)


def _attempt(row: StepDraft, attempt: int) -> None:
    row.attempts = max(row.attempts, attempt)


def _details(row: StepDraft, attempt: int) -> bool:
    """Whether an ending of ``attempt`` is the latest one seen: it then sets the outputs,
    the log and the exit code."""
    if attempt < row.detail_attempt:
        return False
    row.detail_attempt = attempt
    return True


def _raise_step(row: StepDraft, key: tuple[int, int, str], at: datetime, *, reason: str) -> None:
    override, attempt, state = key
    new = (override, attempt, STEP_RANK[state])
    old = (row.state_override, row.state_attempt, row.state_rank)
    if new < old or (new == old and row.state_at is not None and at >= row.state_at):
        return
    row.state, row.state_at = state, at
    row.state_override, row.state_attempt, row.state_rank = new
    row.reason = reason
    row.finished_at = at if state in STEP_FINAL else None


def _dump(artifacts: dict[str, Any]) -> dict[str, Any]:
    return {k: [a.model_dump(mode="json") for a in v] for k, v in artifacts.items()}
