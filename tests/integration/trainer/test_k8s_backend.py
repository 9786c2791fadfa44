"""The Kubernetes backend through the real `kubernetes` client against `FakeApiServer`, a real
HTTP server replaying recorded API objects and Status bodies (tests/fixtures/kubernetes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from k8s_fake import FakeApiServer, recorded

from headrace_artifacts import FileStore
from headrace_contracts import StepReady
from headrace_contracts.kubeflow import TrainingJobSpec, load_training_jobs
from headrace_testing import wait_for
from headrace_trainer.backends import Gang, GangEvent, Phase, ReplicaLaunch
from headrace_trainer.backends.kubernetes import KubernetesSettings
from headrace_trainer.backends.kubernetes.api import connect
from headrace_trainer.backends.kubernetes.backend import KubernetesBackend
from headrace_trainer.errors import WorkloadError

RUN = "run-1"


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    server = FakeApiServer(namespaces=("default", "team-a")).start()
    yield server
    server.close()


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "artifacts")


def settings_for(fake: FakeApiServer, tmp_path: Path, **more: object) -> KubernetesSettings:
    path = fake.kubeconfig(tmp_path / "kubeconfig")
    more.setdefault("unschedulable_seconds", 0)
    return KubernetesSettings(
        backend="kubernetes",
        kubeconfig=str(path),
        log_upload_seconds=0.05,
        watch_seconds=30,
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture
async def backend(
    fake: FakeApiServer, store: FileStore, tmp_path: Path
) -> AsyncIterator[KubernetesBackend]:
    made = make_backend(fake, store, tmp_path)
    yield made
    await made.close()


def make_backend(
    fake: FakeApiServer,
    store: FileStore,
    tmp_path: Path,
    clock: Callable[[], float] = time.time,
    **more: object,
) -> KubernetesBackend:
    settings = settings_for(fake, tmp_path, **more)
    return KubernetesBackend(
        connect(settings), settings, store=store, spool=tmp_path / "spool", clock=clock
    )


def step_ready(step: str = "train") -> StepReady:
    return StepReady(
        run_id=RUN,
        step_id=step,
        task_name=step,
        executor={"container": {"image": "python:3.11", "command": ["python", "-c", "print(1)"]}},
    )


def step_gang(step: str = "train", *, attempt: int = 1) -> Gang:
    ready = step_ready(step)
    replica = ReplicaLaunch(
        "step", 0, ("headrace-executor",), log_key=f"runs/{RUN}/{step}/attempt-1/log.txt"
    )
    return Gang(f"step/{RUN}/{step}/1", (replica,), attempt=attempt, source=ready)


PYTORCH_JOB = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: ddp, namespace: team-a}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: pytorch/pytorch:2.3.0
              command: [python, train.py]
    Worker:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              image: pytorch/pytorch:2.3.0
              command: [python, train.py]
"""


def training_job() -> TrainingJobSpec:
    (job,) = load_training_jobs(PYTORCH_JOB)
    return job


def training_gang(attempt: int = 1) -> Gang:
    job = training_job()
    replicas = tuple(
        ReplicaLaunch(
            role,
            0,
            ("python", "train.py"),
            log_key=f"training-jobs/team-a/ddp/uid/attempt-{attempt}/{role}-0.log",
        )
        for role in ("master", "worker")
    )
    return Gang("team-a/ddp", replicas, attempt=attempt, source=job)


async def collect(backend: KubernetesBackend, gang_id: str) -> list[GangEvent]:
    return [event async for event in backend.events(gang_id)]


def summary(events: list[GangEvent]) -> list[tuple[str, str, str, int | None]]:
    return [(e.kind, e.replica.name, e.replica.phase.value, e.replica.exit_code) for e in events]


def per_replica(events: list[GangEvent]) -> dict[str, list[tuple[str, str, int | None]]]:
    """Each replica's events in order (replicas' events interleave as the API sends them)."""
    found: dict[str, list[tuple[str, str, int | None]]] = {}
    for e in events:
        found.setdefault(e.replica.name, []).append(
            (e.kind, e.replica.phase.value, e.replica.exit_code)
        )
    return found


# -- a pipeline step ----------------------------------------------------------------------


async def test_a_step_becomes_its_objects_and_succeeds_from_watch_events(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    gang = step_gang()
    handle = await backend.start(gang)
    assert [s.phase for s in handle.replicas] == [Phase.PENDING]

    configmaps = fake.named("configmaps")
    parent = configmaps["headrace-run-run-1"]
    (job_name,) = fake.named("jobs")
    job = fake.named("jobs")[job_name]
    assert job["metadata"]["ownerReferences"][0]["uid"] == parent["metadata"]["uid"]
    assert (
        configmaps[job_name]["metadata"]["ownerReferences"][0]["uid"] == (parent["metadata"]["uid"])
    )
    assert job["spec"]["template"]["metadata"]["annotations"]["headrace.io/gang-id"] == gang.id

    events = asyncio.ensure_future(collect(backend, gang.id))
    fake.put_pod(job_name, "pod-pending-initializing.json")
    fake.put_pod(job_name, "pod-running.json")
    fake.put_pod(job_name, "pod-succeeded.json")
    assert summary(await events) == [
        ("started", "step-0", "Running", None),
        ("exited", "step-0", "Succeeded", 0),
    ]
    (state,) = await backend.wait(gang.id)
    assert (state.phase, state.exit_code) == (Phase.SUCCEEDED, 0)


async def test_a_step_whose_container_exits_1_fails(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    gang = step_gang()
    await backend.start(gang)
    (job_name,) = fake.named("jobs")
    fake.put_pod(job_name, "pod-running.json")
    fake.put_pod(job_name, "pod-failed-exit-1.json")
    (state,) = await backend.wait(gang.id)
    assert (state.phase, state.exit_code, state.reason) == (Phase.FAILED, 1, "Error")


@pytest.mark.parametrize(
    ("recording", "reason"),
    [
        ("pod-imagepullbackoff.json", "ImagePullBackOff"),
        ("pod-unschedulable-gpu.json", "Insufficient nvidia.com/gpu"),
    ],
)
async def test_a_pod_that_cannot_pull_or_be_scheduled_fails_with_that_reason(
    backend: KubernetesBackend, fake: FakeApiServer, recording: str, reason: str
) -> None:
    gang = step_gang()
    await backend.start(gang)
    (job_name,) = fake.named("jobs")
    fake.put_pod(job_name, recording)
    (state,) = await backend.wait(gang.id)
    assert state.phase is Phase.FAILED
    assert reason in state.reason


async def test_a_pod_without_a_node_fails_only_after_the_configured_time(
    fake: FakeApiServer, store: FileStore, tmp_path: Path
) -> None:
    # The recorded pod has been Unschedulable since its condition's lastTransitionTime.
    recorded_since = recorded("pod-unschedulable-gpu.json")["status"]["conditions"][0]
    since = datetime.fromisoformat(
        recorded_since["lastTransitionTime"].replace("Z", "+00:00")
    ).timestamp()
    now = [since + 0.1]
    backend = make_backend(fake, store, tmp_path, lambda: now[0], unschedulable_seconds=0.4)
    try:
        gang = step_gang()
        await backend.start(gang)
        (job_name,) = fake.named("jobs")
        fake.put_pod(job_name, "pod-unschedulable-gpu.json")
        record = backend._gangs[gang.id]
        await wait_for(lambda: "step-0" in record.pods, what="the pod seen by the watch")
        (waiting,) = backend.states(gang.id)
        assert waiting.phase is Phase.PENDING  # 0.1 s of the 0.4 s it may wait
        now[0] = since + 1.0
        (state,) = await backend.wait(gang.id)
    finally:
        await backend.close()
    assert state.phase is Phase.FAILED
    assert "Insufficient nvidia.com/gpu" in state.reason
    assert "(no node for 1 s)" in state.reason


async def test_a_forbidden_job_create_names_the_namespace_the_permission_and_the_fix(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    fake.forbidden.add(("create", "jobs"))
    with pytest.raises(WorkloadError) as raised:
        await backend.start(step_gang())
    message = str(raised.value)
    assert "namespace 'default'" in message
    assert "verb 'create' on resource 'jobs' of API group batch" in message
    assert "Role and RoleBinding" in message
    # All or nothing: the step's ConfigMap made before the refusal is deleted again.
    assert set(fake.named("configmaps")) <= {"headrace-run-run-1"}
    assert fake.named("jobs") == {}


async def test_a_namespace_that_does_not_exist_is_named_with_the_fix(
    fake: FakeApiServer, store: FileStore, tmp_path: Path
) -> None:
    backend = make_backend(fake, store, tmp_path, namespace="missing")
    try:
        with pytest.raises(WorkloadError) as raised:
            await backend.start(step_gang())
    finally:
        await backend.close()
    message = str(raised.value)
    assert "namespace 'missing' does not exist" in message
    assert "kubectl create namespace missing" in message


# -- a training job -------------------------------------------------------------------------


async def test_a_two_replica_training_job_is_created_as_one_gang_and_succeeds(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    gang = training_gang()
    await backend.start(gang)
    assert set(fake.named("configmaps", "team-a")) == {"headrace-job-ddp"}
    assert set(fake.named("services", "team-a")) == {"ddp"}
    jobs = fake.named("jobs", "team-a")
    assert set(jobs) == {"ddp-master", "ddp-worker"}
    assert all(j["spec"]["completionMode"] == "Indexed" for j in jobs.values())

    events = asyncio.ensure_future(collect(backend, gang.id))
    for name in ("ddp-master", "ddp-worker"):
        fake.put_pod(name, "pod-running.json", namespace="team-a")
    for name in ("ddp-worker", "ddp-master"):
        fake.put_pod(name, "pod-succeeded.json", namespace="team-a")
    got = await events
    assert per_replica(got) == {
        "master-0": [("started", "Running", None), ("exited", "Succeeded", 0)],
        "worker-0": [("started", "Running", None), ("exited", "Succeeded", 0)],
    }
    await backend.remove(gang.id)  # the parent: the garbage collector takes the rest
    assert fake.delete_options == [
        ("configmaps", "headrace-job-ddp", {"propagationPolicy": "Background"})
    ]
    assert fake.named("jobs", "team-a") == {}
    assert fake.named("services", "team-a") == {}
    assert fake.named("configmaps", "team-a") == {}


async def test_a_gang_that_fails_in_the_middle_of_its_creation_leaves_nothing(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    fake.fail_create("jobs", 500, after=1)  # the master's Job is made, the worker's refused
    with pytest.raises(WorkloadError) as raised:
        await backend.start(training_gang())
    assert "ddp-worker" in str(raised.value)
    made = [r for r in fake.requests if r[0] == "POST" and r[1].endswith("/jobs")]
    assert len(made) == 2
    assert fake.named("jobs", "team-a") == {}
    assert fake.named("services", "team-a") == {}
    assert fake.named("configmaps", "team-a") == {}


# -- watches, restarts, logs ----------------------------------------------------------------


async def test_an_expired_watch_is_resumed_from_a_fresh_list_without_loss_or_repeat(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    gang = step_gang()
    await backend.start(gang)
    (job_name,) = fake.named("jobs")
    events = asyncio.ensure_future(collect(backend, gang.id))
    fake.put_pod(job_name, "pod-running.json")
    while backend.states(gang.id)[0].phase is not Phase.RUNNING:
        await (backend._gangs[gang.id].changed).wait()
    # The history is compacted and the pod ends while the watch is down.
    fake.expire("pods", then_pod=(job_name, "pod-succeeded.json"))
    assert summary(await events) == [
        ("started", "step-0", "Running", None),
        ("exited", "step-0", "Succeeded", 0),
    ]
    assert fake.gone_sent >= 1
    pod_lists = [r for r in fake.requests if r[1].endswith("/pods") and "watch" not in r[2]]
    assert len(pod_lists) == 2  # the first list, and the one after 410 Gone


async def test_a_restarted_backend_adopts_a_running_gang_by_label(
    fake: FakeApiServer, store: FileStore, tmp_path: Path
) -> None:
    first = make_backend(fake, store, tmp_path)
    gang = training_gang()
    await first.start(gang)
    for name in ("ddp-master", "ddp-worker"):
        fake.put_pod(name, "pod-running.json", namespace="team-a")
    await first.close()  # the launcher died; its pods run on

    second = make_backend(fake, store, tmp_path)
    try:
        assert await second.adopt("team-a/other") is None
        handle = await second.adopt(gang.id)
        assert handle is not None
        assert handle.adopted
        assert {(s.name, s.phase) for s in handle.replicas} == {
            ("master-0", Phase.RUNNING),
            ("worker-0", Phase.RUNNING),
        }
        events = asyncio.ensure_future(collect(second, gang.id))
        for name in ("ddp-master", "ddp-worker"):
            fake.put_pod(name, "pod-succeeded.json", namespace="team-a")
        assert per_replica(await events) == {
            "master-0": [("adopted", "Running", None), ("exited", "Succeeded", 0)],
            "worker-0": [("adopted", "Running", None), ("exited", "Succeeded", 0)],
        }
    finally:
        await second.close()


async def test_a_pods_log_is_stored_while_it_runs_and_readable_after_it_is_gone(
    backend: KubernetesBackend, fake: FakeApiServer, store: FileStore
) -> None:
    gang = step_gang()
    await backend.start(gang)
    (job_name,) = fake.named("jobs")
    fake.put_pod(job_name, "pod-running.json", log=["epoch 1", "epoch 2"])
    followed = backend.logs(gang.id, "step", 0, follow=True)
    assert [await anext(followed), await anext(followed)] == ["epoch 1", "epoch 2"]
    fake.put_pod(job_name, "pod-succeeded.json")
    assert [line async for line in followed] == []
    await backend.wait(gang.id)
    await backend.remove(gang.id)
    assert fake.named("pods") == {}
    key = gang.replicas[0].log_key
    with store.open_read(key) as reader:
        assert reader.read().decode() == "epoch 1\nepoch 2\n"


async def test_stop_deletes_the_gangs_jobs_and_a_new_attempt_reuses_the_service(
    backend: KubernetesBackend, fake: FakeApiServer
) -> None:
    await backend.start(training_gang())
    for name in ("ddp-master", "ddp-worker"):
        fake.put_pod(name, "pod-running.json", namespace="team-a")
    states = await backend.stop("team-a/ddp", grace=0)
    assert {(s.name, s.phase) for s in states} == {
        ("master-0", Phase.FAILED),
        ("worker-0", Phase.FAILED),
    }
    assert sorted((p, n, o.get("propagationPolicy")) for p, n, o in fake.delete_options) == [
        ("jobs", "ddp-master", "Foreground"),
        ("jobs", "ddp-worker", "Foreground"),
    ]
    assert fake.named("pods", "team-a") == {}
    assert set(fake.named("services", "team-a")) == {"ddp"}  # kept for the next attempt
    handle = await backend.start(training_gang(attempt=2))
    assert handle.attempt == 2
    assert set(fake.named("jobs", "team-a")) == {"ddp-master", "ddp-worker"}
