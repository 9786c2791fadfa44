"""The gang/restart state machine: restart policies, backoff limit, success policies,
deadline, delete, suspend/resume, and the conditions it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headrace_contracts.kubeflow import TrainingJobSpec, load_training_jobs
from headrace_trainer.jobs import (
    Backoff,
    DeadlinePassed,
    Decision,
    Deleted,
    Fail,
    GangPolicy,
    GangStarted,
    Phase,
    ReplicaExited,
    Resume,
    StartGang,
    StopGang,
    Succeed,
    Suspend,
    exit_code_of,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pytorch(
    restart: str = "OnFailure", backoff: str = "", master: bool = True, top: str = ""
) -> TrainingJobSpec:
    def group(kind: str, count: int) -> str:
        return (
            f"    {kind}:\n      replicas: {count}\n      restartPolicy: {restart}\n"
            "      template: {spec: {containers: [{name: pytorch, command: [python, t.py]}]}}\n"
        )

    policy = f"  runPolicy: {{{backoff}}}\n" if backoff else ""
    text = (
        "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: ddp}\nspec:\n"
        f"{policy}{top}  pytorchReplicaSpecs:\n"
        + (group("Master", 1) if master else "")
        + group("Worker", 2)
    )
    (job,) = load_training_jobs(text)
    return job


def running(policy: GangPolicy) -> Decision:
    first = policy.start(T0)
    assert first.actions == (StartGang(0),)
    return policy.on(first.state, GangStarted(0), T0)


def types(decision: Decision) -> list[tuple[str, str]]:
    return [(c.type, c.status) for c in decision.state.conditions]


def test_created_then_running_conditions() -> None:
    policy = GangPolicy(pytorch())
    decision = running(policy)
    assert decision.state.phase == Phase.RUNNING
    assert types(decision) == [("Created", "True"), ("Running", "True")]
    created, run = decision.state.conditions
    assert (created.reason, run.reason) == ("PyTorchJobCreated", "PyTorchJobRunning")
    assert run.message == "PyTorchJob default/ddp is running."
    assert run.last_transition_time == "2026-01-01T00:00:00Z"
    statuses = policy.replica_statuses(decision.state)
    assert (statuses["Master"].active, statuses["Worker"].active) == (1, 2)


def test_master_success_ends_the_job_and_stops_the_rest() -> None:
    policy = GangPolicy(pytorch())
    state = running(policy).state
    state = policy.on(state, ReplicaExited("worker", 0, 0, 0), T0).state
    assert state.phase == Phase.RUNNING
    done = policy.on(state, ReplicaExited("master", 0, 0, 0), T0)
    assert done.state.phase == Phase.SUCCEEDED
    assert isinstance(done.actions[0], StopGang)
    assert isinstance(done.actions[1], Succeed)
    assert types(done) == [("Created", "True"), ("Running", "False"), ("Succeeded", "True")]
    statuses = policy.replica_statuses(done.state)
    assert (statuses["Master"].succeeded, statuses["Worker"].succeeded) == (1, 1)


def test_without_master_every_worker_must_succeed() -> None:
    policy = GangPolicy(pytorch(master=False))
    state = running(policy).state
    state = policy.on(state, ReplicaExited("worker", 1, 0, 0), T0).state
    assert state.phase == Phase.RUNNING
    assert policy.on(state, ReplicaExited("worker", 0, 0, 0), T0).state.phase == Phase.SUCCEEDED


def test_failure_restarts_the_whole_gang_until_the_backoff_limit() -> None:
    policy = GangPolicy(pytorch(backoff="backoffLimit: 1"), Backoff(initial=2.0))
    state = running(policy).state
    restart = policy.on(state, ReplicaExited("worker", 1, 3, 0), T0 + timedelta(seconds=5))
    assert restart.state.phase == Phase.RESTARTING
    assert (restart.state.attempt, restart.state.restarts) == (1, 1)
    stop, start = restart.actions
    assert isinstance(stop, StopGang)
    assert start == StartGang(1, 2.0)
    assert types(restart) == [("Created", "True"), ("Restarting", "True")]
    assert "worker-1 exited with code 3" in restart.state.conditions[-1].message
    # exits of the old gang (stopped by us) change nothing
    stale = policy.on(restart.state, ReplicaExited("master", 0, 137, 0), T0)
    assert stale.state == restart.state
    assert stale.actions == ()
    again = policy.on(restart.state, GangStarted(1), T0)
    assert types(again) == [("Created", "True"), ("Running", "True")]
    failed = policy.on(again.state, ReplicaExited("worker", 0, 2, 1), T0)
    assert failed.state.phase == Phase.FAILED
    fail = failed.actions[-1]
    assert isinstance(fail, Fail)
    assert (fail.reason, fail.replica, fail.exit_code) == ("BackoffLimitExceeded", "worker-0", 2)
    assert "reached the specified backoff limit" in fail.message
    assert isinstance(failed.actions[0], StopGang)


def test_never_fails_at_once_with_the_exit_code() -> None:
    policy = GangPolicy(pytorch(restart="Never"))
    failed = policy.on(running(policy).state, ReplicaExited("worker", 0, 7, 0), T0)
    fail = failed.actions[-1]
    assert isinstance(fail, Fail)
    assert (fail.exit_code, fail.replica) == (7, "worker-0")
    assert failed.state.conditions[-1].reason == "PyTorchJobFailed"
    assert "1 Worker replica(s) failed" in fail.message
    assert policy.replica_statuses(failed.state)["Worker"].exit_codes == {0: 7}
    # once failed, nothing changes
    late = policy.on(failed.state, ReplicaExited("master", 0, 0, 0), T0)
    assert late.state == failed.state
    assert late.actions == ()


def test_exit_code_policy_restarts_only_retryable_codes() -> None:
    policy = GangPolicy(pytorch(restart="ExitCode"))
    state = running(policy).state
    permanent = policy.on(state, ReplicaExited("worker", 0, 1, 0), T0)
    assert permanent.state.phase == Phase.FAILED
    retry = policy.on(state, ReplicaExited("worker", 0, 137, 0), T0)
    assert retry.state.phase == Phase.RESTARTING
    signalled = policy.on(state, ReplicaExited("worker", 0, -9, 0), T0)  # a local SIGKILL
    assert signalled.state.phase == Phase.RESTARTING
    assert exit_code_of(-9) == 137


def test_no_backoff_limit_means_unbounded_restarts_with_capped_delay() -> None:
    policy = GangPolicy(pytorch(), Backoff(initial=1.0, factor=2.0, maximum=5.0))
    state = running(policy).state
    delays = []
    for attempt in range(5):
        decision = policy.on(state, ReplicaExited("master", 0, 1, attempt), T0)
        (_, start) = decision.actions
        assert isinstance(start, StartGang)
        delays.append(start.delay_seconds)
        state = policy.on(decision.state, GangStarted(attempt + 1), T0).state
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_deadline_fails_an_active_job() -> None:
    policy = GangPolicy(pytorch(backoff="activeDeadlineSeconds: 30"))
    state = running(policy).state
    assert state.deadline(30) == T0 + timedelta(seconds=30)
    failed = policy.on(state, DeadlinePassed(), T0)
    fail = failed.actions[-1]
    assert isinstance(fail, Fail)
    assert fail.reason == "DeadlineExceeded"
    assert "active longer than specified deadline" in fail.message


def test_delete_stops_everything_once() -> None:
    policy = GangPolicy(pytorch())
    deleted = policy.on(running(policy).state, Deleted(), T0)
    assert deleted.state.phase == Phase.CANCELLED
    assert deleted.actions == (StopGang("deleted by user"),)
    assert policy.on(deleted.state, Deleted(), T0).actions == ()


def test_suspend_and_resume() -> None:
    policy = GangPolicy(pytorch())
    suspended = policy.on(running(policy).state, Suspend(), T0)
    assert suspended.state.phase == Phase.SUSPENDED
    assert isinstance(suspended.actions[0], StopGang)
    assert types(suspended) == [("Created", "True"), ("Running", "False"), ("Suspended", "True")]
    assert policy.on(suspended.state, Suspend(), T0).actions == ()
    resumed = policy.on(suspended.state, Resume(), T0 + timedelta(minutes=1))
    assert resumed.actions == (StartGang(1),)
    assert resumed.state.restarts == 0
    assert resumed.state.started_at is None
    assert ("Suspended", "False") in types(resumed)
    assert resumed.state.conditions[-1].reason == "PyTorchJobResumed"


def test_suspended_at_creation_starts_nothing() -> None:
    policy = GangPolicy(pytorch(backoff="suspend: true"))
    first = policy.start(T0)
    assert first.state.phase == Phase.SUSPENDED
    assert first.actions == ()
    assert policy.on(first.state, Resume(), T0).actions == (StartGang(1),)


def tfjob(groups: str, top: str = "") -> TrainingJobSpec:
    def group(kind: str, count: int) -> str:
        return (
            f"    {kind}:\n      replicas: {count}\n"
            "      template: {spec: {containers: [{name: tensorflow, command: [python, t.py]}]}}\n"
        )

    parts = "".join(group(k, int(n)) for k, n in (g.split("=") for g in groups.split(",")))
    (job,) = load_training_jobs(
        f"apiVersion: kubeflow.org/v1\nkind: TFJob\nmetadata: {{name: tf}}\nspec:\n{top}"
        f"  tfReplicaSpecs:\n{parts}"
    )
    return job


def test_tfjob_chief_decides_and_parameter_servers_are_stopped() -> None:
    policy = GangPolicy(tfjob("Chief=1,PS=1,Worker=2"))
    done = policy.on(running(policy).state, ReplicaExited("chief", 0, 0, 0), T0)
    assert done.state.phase == Phase.SUCCEEDED
    assert isinstance(done.actions[0], StopGang)
    assert done.state.conditions[-1].reason == "TFJobSucceeded"


def test_tfjob_without_chief_worker_zero_or_all_workers() -> None:
    policy = GangPolicy(tfjob("Worker=2"))
    state = running(policy).state
    assert policy.on(state, ReplicaExited("worker", 1, 0, 0), T0).state.phase == Phase.RUNNING
    assert policy.on(state, ReplicaExited("worker", 0, 0, 0), T0).state.phase == Phase.SUCCEEDED
    strict = GangPolicy(tfjob("Worker=2", top="  successPolicy: AllWorkers\n"))
    state = running(strict).state
    state = strict.on(state, ReplicaExited("worker", 0, 0, 0), T0).state
    assert state.phase == Phase.RUNNING
    assert strict.on(state, ReplicaExited("worker", 1, 0, 0), T0).state.phase == Phase.SUCCEEDED


def test_tfjob_defaults_to_never() -> None:
    policy = GangPolicy(tfjob("Worker=2"))
    failed = policy.on(running(policy).state, ReplicaExited("worker", 1, 137, 0), T0)
    assert failed.state.phase == Phase.FAILED


def test_duplicate_gang_started_is_ignored() -> None:
    policy = GangPolicy(pytorch())
    state = running(policy).state
    again = policy.on(state, GangStarted(0), T0 + timedelta(seconds=9))
    assert again.state == state
    assert again.actions == ()
