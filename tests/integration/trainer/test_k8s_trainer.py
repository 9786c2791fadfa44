"""The trainer service with ``HEADRACE_BACKEND=kubernetes``: pipeline steps and training jobs
go to `FakeApiServer` (a real HTTP server replaying recorded API objects) through the same
launcher and controller as locally, on a real nats-server. The test plays the cluster: it
moves the pods through recorded states, and, for a step, leaves the outcome in the artifact
store as the pod's ``headrace-executor --outcome-key`` does."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from k8s_fake import FakeApiServer
from opentelemetry.sdk.trace import TracerProvider
from trainer_support import Recorder

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import (
    StepFailed,
    StepReady,
    StepStarted,
    StepSucceeded,
    SubmitTrainingJob,
    TrainingJobFailed,
    TrainingJobRunning,
    TrainingJobSucceeded,
)
from headrace_contracts.asyncapi import TRACEPARENT_PATTERN
from headrace_runtime import Service
from headrace_testing import wait_for
from headrace_trainer.executor import Outcome
from headrace_trainer.executor.logs import outcome_key

StartTrainer = Callable[..., Awaitable[Service]]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    server = FakeApiServer(namespaces=("default",)).start()
    monkeypatch.setenv("HEADRACE_BACKEND", "kubernetes")
    monkeypatch.setenv("HEADRACE_KUBERNETES_KUBECONFIG", str(server.kubeconfig(tmp_path / "kc")))
    monkeypatch.setenv("HEADRACE_KUBERNETES_UNSCHEDULABLE_SECONDS", "0")
    monkeypatch.setenv("HEADRACE_KUBERNETES_LOG_UPLOAD_SECONDS", "0.05")
    yield server
    server.close()


def step(step_id: str = "train") -> StepReady:
    return StepReady(
        run_id="run-k8s",
        step_id=step_id,
        task_name=step_id,
        executor={"container": {"image": "python:3.11", "command": ["python", "-c", "print(1)"]}},
    )


async def test_a_step_runs_as_a_job_and_succeeds_with_the_outcome_its_pod_stored(
    fake: FakeApiServer,
    trainer: StartTrainer,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    tmp_path: Path,
) -> None:
    await trainer()
    ready = step()
    with TracerProvider().get_tracer("caller").start_as_current_span("caller") as caller:
        await client.publish(ready)
    await wait_for(lambda: bool(fake.named("jobs")), what="the step's Job")
    (job_name,) = fake.named("jobs")
    # The pod's executor continues the run's trace from the step's launch.
    assert (
        traceparent_of(fake.named("jobs")[job_name]) == f"{caller.get_span_context().trace_id:032x}"
    )
    fake.put_pod(job_name, "pod-running.json")
    started = await recorder.first(StepStarted, "train")
    assert started.backend == "kubernetes"
    # What the executor in the pod does at its end:
    done = Outcome(status="succeeded", exit_code=0, output_parameters={"Output": 3})
    path = tmp_path / "outcome.json"
    path.write_text(done.model_dump_json())
    store.put_file(path, outcome_key(ready.run_id, ready.step_id, ready.attempt))
    fake.put_pod(job_name, "pod-succeeded.json")
    succeeded = await recorder.first(StepSucceeded, "train")
    assert succeeded.output_parameters == {"Output": 3}
    # The launcher removed the step's objects, and the run's parent with its last step.
    await wait_for(lambda: not fake.named("configmaps"), what="the step's objects deleted")
    assert fake.named("jobs") == {}


async def test_a_step_whose_job_may_not_be_created_fails_naming_the_permission(
    fake: FakeApiServer, trainer: StartTrainer, client: Bus, recorder: Recorder
) -> None:
    fake.forbidden.add(("create", "jobs"))
    await trainer()
    await client.publish(step())
    failed = await recorder.first(StepFailed, "train")
    assert "step 'train'" in failed.reason
    assert "may not create jobs.batch in namespace 'default'" in failed.reason
    assert "grant its service account the verb 'create' on resource 'jobs'" in failed.reason


async def test_a_step_whose_image_cannot_be_pulled_fails_with_that_reason(
    fake: FakeApiServer, trainer: StartTrainer, client: Bus, recorder: Recorder
) -> None:
    await trainer()
    await client.publish(step())
    await wait_for(lambda: bool(fake.named("jobs")), what="the step's Job")
    (job_name,) = fake.named("jobs")
    fake.put_pod(job_name, "pod-imagepullbackoff.json")
    failed = await recorder.first(StepFailed, "train")
    assert "ImagePullBackOff" in failed.reason


def traceparent_of(job: dict[str, Any]) -> str:
    """The trace id of the ``TRACEPARENT`` a Job gives its pods (checked to be W3C)."""
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert re.fullmatch(TRACEPARENT_PATTERN, env["TRACEPARENT"]), env
    return str(env["TRACEPARENT"].split("-")[1])


def pytorch_job(namespace: str) -> dict[str, object]:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "ddp", "namespace": namespace},
        "spec": {
            "pytorchReplicaSpecs": {
                role: {
                    "replicas": 1,
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "pytorch",
                                    "image": "pytorch/pytorch:2.3.0",
                                    "command": ["python", "train.py"],
                                }
                            ]
                        }
                    },
                }
                for role in ("Master", "Worker")
            }
        },
    }


async def test_a_two_replica_training_job_runs_as_indexed_jobs_and_succeeds(
    fake: FakeApiServer, trainer: StartTrainer, client: Bus, recorder: Recorder, store: FileStore
) -> None:
    await trainer()
    submit = SubmitTrainingJob(job_id="default/ddp", manifest=pytorch_job("default"))
    with TracerProvider().get_tracer("caller").start_as_current_span("caller") as caller:
        await client.publish(submit)
    await wait_for(lambda: len(fake.named("jobs")) == 2, what="the job's two Jobs")
    # Every replica's pod is in the trace of the job's submission.
    trace_id = f"{caller.get_span_context().trace_id:032x}"
    assert [traceparent_of(job) for job in fake.named("jobs").values()] == [trace_id] * 2
    assert set(fake.named("services")) == {"ddp"}
    for name in ("ddp-master", "ddp-worker"):
        fake.put_pod(name, "pod-running.json", log=[f"{name} says hello"])
    await recorder.first(TrainingJobRunning)
    for name in ("ddp-worker", "ddp-master"):
        fake.put_pod(name, "pod-succeeded.json")
    await recorder.first(TrainingJobSucceeded)
    # The master's log was copied to the store under the key `headrace job logs` reads.
    key = next(k for k in stored_keys(store) if k.endswith("/master-0.log"))
    with store.open_read(key) as reader:
        assert reader.read() == b"ddp-master says hello\n"


def stored_keys(store: FileStore) -> list[str]:
    root = Path(store.root_uri.removeprefix("file://"))
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]


async def test_a_training_job_in_a_namespace_that_does_not_exist_fails_naming_it(
    fake: FakeApiServer, trainer: StartTrainer, client: Bus, recorder: Recorder
) -> None:
    await trainer()
    manifest = pytorch_job("nowhere")
    await client.publish(
        SubmitTrainingJob(job_id="nowhere/ddp", manifest=manifest, namespace="nowhere")
    )
    failed = await recorder.first(TrainingJobFailed)
    assert "namespace 'nowhere' does not exist" in failed.reason
    assert "kubectl create namespace nowhere" in failed.reason
