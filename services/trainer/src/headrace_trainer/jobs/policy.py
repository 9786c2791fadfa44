"""The gang and restart policy of a training job: a pure state machine.

All replicas of a job form one gang: they start together, and when one fails the whole gang
is stopped and started again (``attempt`` + 1), never one replica alone. The replica's group
``restartPolicy`` decides:

* ``Never``: the job fails with that replica's exit code;
* ``OnFailure`` / ``Always``: the gang restarts while restarts <= ``runPolicy.backoffLimit``
  (no limit when it is not set, as in Kubeflow), waiting :class:`Backoff` between attempts;
* ``ExitCode``: exit codes 1-127 are permanent (the job fails), 128 and above (killed by a
  signal) restart the gang (training-operator ``IsRetryableExitCode``).

A process killed by signal N (``returncode`` -N locally) counts as exit code 128 + N, as a
container's does. The job succeeds when its success policy holds: PyTorchJob, the Master
(no Master: every Worker; elastic: any Worker); TFJob, the Chief (no Chief: Worker 0, or every
Worker with ``successPolicy: AllWorkers``); TrainJob, every node. Replicas still running then
(parameter servers) are stopped.

Use: ``policy = GangPolicy(job)``; ``decision = policy.start(now)``; then for each event
``decision = policy.on(decision.state, event, now)``; carry out ``decision.actions`` in order.
An event of an older attempt, or one that comes after the job ended, changes nothing
(no actions), so redelivered events are harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from headrace_contracts import JobCondition, ReplicaStatus
from headrace_contracts.kubeflow import Role, TrainingJobSpec

from .conditions import set_condition

__all__ = [
    "Backoff",
    "DeadlinePassed",
    "Decision",
    "Deleted",
    "Fail",
    "GangPolicy",
    "GangStarted",
    "JobEvent",
    "JobState",
    "Phase",
    "ReplicaExited",
    "Resume",
    "StartFailed",
    "StartGang",
    "StopGang",
    "Succeed",
    "Suspend",
    "exit_code_of",
    "is_retryable",
]


class Phase(StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    RESTARTING = "RESTARTING"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def active(self) -> bool:
        """Replicas of this phase may be running (or about to start)."""
        return self in (Phase.CREATED, Phase.RUNNING, Phase.RESTARTING)

    @property
    def final(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before restart n (1-based): ``min(maximum, initial * factor**(n-1))``."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def delay(self, restart: int) -> float:
        return float(min(self.maximum, self.initial * self.factor ** max(0, restart - 1)))


# ----- what happens (inputs) -----


@dataclass(frozen=True)
class GangStarted:
    """Every replica of ``attempt`` is running."""

    attempt: int


@dataclass(frozen=True)
class ReplicaExited:
    role: Role
    index: int
    exit_code: int
    attempt: int


@dataclass(frozen=True)
class DeadlinePassed:
    """``activeDeadlineSeconds`` since the job started (or resumed) has passed."""


@dataclass(frozen=True)
class Deleted:
    reason: str = "deleted by user"


@dataclass(frozen=True)
class StartFailed:
    """The gang cannot start at all (a command that does not exist, more GPUs than the
    machine has): the job fails at once with ``message``, whatever its restart policy."""

    message: str


@dataclass(frozen=True)
class Suspend:
    pass


@dataclass(frozen=True)
class Resume:
    pass


JobEvent = GangStarted | ReplicaExited | DeadlinePassed | Deleted | Suspend | Resume | StartFailed


# ----- what to do (outputs) -----


@dataclass(frozen=True)
class StartGang:
    """Start every replica of the job as ``attempt``, after ``delay_seconds``."""

    attempt: int
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class StopGang:
    """Stop every replica still running."""

    reason: str


@dataclass(frozen=True)
class Succeed:
    message: str


@dataclass(frozen=True)
class Fail:
    reason: str
    message: str
    replica: str = ""
    exit_code: int | None = None


Action = StartGang | StopGang | Succeed | Fail


@dataclass(frozen=True)
class JobState:
    phase: Phase = Phase.CREATED
    attempt: int = 0
    restarts: int = 0
    exits: dict[tuple[Role, int], int] = field(default_factory=dict)
    conditions: tuple[JobCondition, ...] = ()
    started_at: datetime | None = None

    def deadline(self, seconds: int | None) -> datetime | None:
        """When ``activeDeadlineSeconds`` runs out (None: no deadline or not started)."""
        if seconds is None or self.started_at is None:
            return None
        return self.started_at + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Decision:
    state: JobState
    actions: tuple[Action, ...] = ()


def exit_code_of(returncode: int) -> int:
    """A process's return code as a container's exit code (signal N -> 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def is_retryable(exit_code: int) -> bool:
    """Kubeflow's ``IsRetryableExitCode``: 128 and above (signals) are worth a restart."""
    return exit_code >= 128


class GangPolicy:
    """Decides, for one job, what each event means (no I/O, no clock: ``now`` is given)."""

    def __init__(self, job: TrainingJobSpec, backoff: Backoff | None = None) -> None:
        self.job = job
        self.backoff = backoff or Backoff()

    # -- entry points --

    def start(self, now: datetime) -> Decision:
        """The job was accepted: ``Created``, then start the gang (or stay suspended)."""
        conditions = self._set((), "Created", "True", "Created", "is created", now)
        state = JobState(conditions=conditions)
        if self.job.run_policy.suspend:
            return self._suspend(state, now)
        return Decision(state, (StartGang(0),))

    def on(self, state: JobState, event: JobEvent, now: datetime) -> Decision:
        if isinstance(event, GangStarted):
            return self._started(state, event, now)
        if isinstance(event, ReplicaExited):
            return self._exited(state, event, now)
        if isinstance(event, DeadlinePassed):
            if not state.phase.active:
                return Decision(state)
            message = (
                f"{self._what} has failed because it was active longer than specified deadline"
            )
            return self._fail(state, now, "DeadlineExceeded", message)
        if isinstance(event, StartFailed):
            if not state.phase.active:
                return Decision(state)
            message = f"{self._what} could not start: {event.message}"
            return self._fail(state, now, "FailedToStart", message)
        if isinstance(event, Deleted):
            if state.phase.final:
                return Decision(state)
            conditions = state.conditions
            if any(c.type == "Running" and c.status == "True" for c in conditions):
                conditions = self._set(conditions, "Running", "False", "Deleted", "is deleted", now)
            ended = replace(state, phase=Phase.CANCELLED, conditions=conditions)
            return Decision(ended, (StopGang(event.reason),))
        if isinstance(event, Suspend):
            if not state.phase.active:
                return Decision(state)
            return self._suspend(state, now, stop=True)
        return self._resume(state, now)

    def replica_statuses(self, state: JobState) -> dict[str, ReplicaStatus]:
        """Kubeflow's ``replicaStatuses`` for the current attempt, keyed by replica type."""
        statuses: dict[str, ReplicaStatus] = {}
        for group in self.job.replicas:
            codes = {i: c for (role, i), c in state.exits.items() if role == group.role}
            succeeded = sum(1 for c in codes.values() if c == 0)
            failed = len(codes) - succeeded
            active = group.count - len(codes) if state.phase == Phase.RUNNING else 0
            statuses[group.replica_type] = ReplicaStatus(
                active=active, succeeded=succeeded, failed=failed, exit_codes=codes
            )
        return statuses

    # -- transitions --

    def _started(self, state: JobState, event: GangStarted, now: datetime) -> Decision:
        if event.attempt != state.attempt or state.phase not in (Phase.CREATED, Phase.RESTARTING):
            return Decision(state)
        conditions = self._set(state.conditions, "Running", "True", "Running", "is running", now)
        started = state.started_at or now
        return Decision(
            replace(state, phase=Phase.RUNNING, conditions=conditions, started_at=started)
        )

    def _exited(self, state: JobState, event: ReplicaExited, now: datetime) -> Decision:
        if event.attempt != state.attempt or not state.phase.active:
            return Decision(state)
        group = self.job.group(event.role)
        if group is None or not 0 <= event.index < group.count:
            return Decision(state)
        code = exit_code_of(event.exit_code)
        state = replace(state, exits={**state.exits, (event.role, event.index): code})
        name = f"{event.role}-{event.index}"
        if code == 0:
            if self._succeeded(state):
                message = f"{self._what} successfully completed."
                conditions = self._set(state.conditions, "Succeeded", "True", "Succeeded",
                                       "successfully completed", now)  # fmt: skip
                done = replace(state, phase=Phase.SUCCEEDED, conditions=conditions)
                return Decision(done, (StopGang("the job succeeded"), Succeed(message)))
            return Decision(state)
        failed = f"{self._what} has failed because 1 {group.replica_type} replica(s) failed"
        detail = f"{failed} ({name} exited with code {code})."
        policy = group.restart_policy
        if policy == "Never" or (policy == "ExitCode" and not is_retryable(code)):
            return self._fail(state, now, "Failed", detail, name, code)
        limit = self.job.run_policy.backoff_limit
        if limit is not None and state.restarts + 1 > limit:
            message = (
                f"{self._what} has failed because it has reached the specified backoff limit "
                f"({limit}); last: {name} exited with code {code}."
            )
            return self._fail(state, now, "BackoffLimitExceeded", message, name, code)
        restarts = state.restarts + 1
        message = (
            f"{self._what} is restarting because 1 {group.replica_type} replica(s) failed "
            f"({name} exited with code {code})."
        )
        conditions = self._set(state.conditions, "Restarting", "True", "Restarting", message, now)
        again = JobState(
            phase=Phase.RESTARTING,
            attempt=state.attempt + 1,
            restarts=restarts,
            conditions=conditions,
            started_at=state.started_at,
        )
        actions = (
            StopGang(f"{name} exited with code {code}: restarting the gang"),
            StartGang(again.attempt, self.backoff.delay(restarts)),
        )
        return Decision(again, actions)

    def _succeeded(self, state: JobState) -> bool:
        done = {key for key, code in state.exits.items() if code == 0}

        def all_of(role: Role) -> bool:
            group = self.job.group(role)
            return group is not None and all((role, i) in done for i in range(group.count))

        job = self.job
        if job.kind == "PyTorchJob":
            if job.group("master") is not None:
                return ("master", 0) in done
            if job.elastic is not None:
                return any(role == "worker" for role, _ in done)
            return all_of("worker")
        if job.kind == "TFJob":
            if job.group("chief") is not None:
                return ("chief", 0) in done
            if job.success_policy == "AllWorkers":
                return all_of("worker")
            return ("worker", 0) in done
        return all_of("node")

    def _fail(
        self,
        state: JobState,
        now: datetime,
        reason: str,
        message: str,
        replica: str = "",
        exit_code: int | None = None,
    ) -> Decision:
        conditions = self._set(state.conditions, "Failed", "True", "Failed", message, now)
        ended = replace(state, phase=Phase.FAILED, conditions=conditions)
        actions = (StopGang(message), Fail(reason, message, replica, exit_code))
        return Decision(ended, actions)

    def _suspend(self, state: JobState, now: datetime, stop: bool = False) -> Decision:
        message = f"{self._what} is suspended."
        conditions = state.conditions
        if any(c.type == "Running" and c.status == "True" for c in conditions):
            conditions = self._set(conditions, "Running", "False", "Suspended", message, now)
        conditions = self._set(conditions, "Suspended", "True", "Suspended", message, now)
        suspended = replace(state, phase=Phase.SUSPENDED, conditions=conditions, exits={})
        return Decision(suspended, (StopGang(message),) if stop else ())

    def _resume(self, state: JobState, now: datetime) -> Decision:
        if state.phase != Phase.SUSPENDED:
            return Decision(state)
        message = f"{self._what} is resumed."
        conditions = self._set(state.conditions, "Suspended", "False", "Resumed", message, now)
        resumed = JobState(
            phase=Phase.CREATED,
            attempt=state.attempt + 1,
            restarts=state.restarts,
            conditions=conditions,
            started_at=None,
        )
        return Decision(resumed, (StartGang(resumed.attempt),))

    # -- helpers --

    @property
    def _what(self) -> str:
        return f"{self.job.kind} {self.job.namespace}/{self.job.name}"

    def _set(
        self,
        conditions: tuple[JobCondition, ...],
        kind: str,
        status: str,
        reason: str,
        message: str,
        now: datetime,
    ) -> tuple[JobCondition, ...]:
        if not message.endswith("."):
            message = f"{self._what} {message}."
        return set_condition(conditions, kind, status, f"{self.job.kind}{reason}", message, now)
