"""A pipeline step launches a 2-replica PyTorchJob through `headrace.training.run_job` and
waits for it; the job's output becomes the step's Model artifact, read by the next step. A
failed job fails the step and the run with the job's reason; a cancelled run deletes the job
its step waits for (real nats-server, scheduler, trainer and metadata; real processes)."""

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl, kubernetes
from pipeline_harness import Platform, step

from headrace_contracts import GetTrainingJob, ListTrainingJobs, TrainingJobDetail, TrainingJobList
from headrace_pipelines import load_pipeline
from headrace_testing import TestNats

pytestmark = pytest.mark.slow

# Each replica leaves its pid; rank 0 waits for every replica's, then writes the model; the
# other sleeps a moment (stopped when the Master succeeds). FAIL_RANK makes that rank fail
# with exit code 3 before it leaves its pid, so the Master never finishes on its own and the
# job's outcome cannot depend on which exit is seen first; HOLD makes every rank wait.
REPLICA = """
import os, pathlib, sys, time
rank = int(os.environ["RANK"])
if os.environ.get("FAIL_RANK") == str(rank):
    print(f"rank {rank}: the loss is nan", flush=True)
    sys.exit(3)
written = pathlib.Path(os.environ["PIDS"], f"{rank}.part")
written.write_text(str(os.getpid()))
written.rename(written.with_suffix(".pid"))  # whole, or not there: the test reads it at once
if os.environ.get("HOLD"):
    time.sleep(120)
if rank == 0:
    world = int(os.environ["WORLD_SIZE"])
    while len(list(pathlib.Path(os.environ["PIDS"]).glob("*.pid"))) < world:
        time.sleep(0.05)  # every replica of the gang runs
    out = pathlib.Path(os.environ["HEADRACE_OUTPUT_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.txt").write_text(f"weights of {os.environ['WORLD_SIZE']} replicas")
else:
    time.sleep(0.5)
"""


def manifest(pids: Path, **env: str) -> str:
    variables = [{"name": "PIDS", "value": str(pids)}]
    variables += [{"name": k, "value": v} for k, v in env.items()]
    container = {"name": "pytorch", "command": ["python", "-c", REPLICA], "env": variables}
    spec = {"restartPolicy": "Never", "template": {"spec": {"containers": [container]}}}
    return yaml.safe_dump(
        {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "metadata": {"name": "tiny"},
            "spec": {
                "pytorchReplicaSpecs": {
                    "Master": {"replicas": 1, **spec},
                    "Worker": {"replicas": 1, **spec},
                },
                "runPolicy": {"backoffLimit": 0},
            },
        }
    )


@dsl.component
def train(manifest: str, model: dsl.Output[dsl.Model]) -> str:
    from headrace.training import run_job

    job = run_job(manifest, model.path, timeout=120)
    return job.name


@dsl.component
def evaluate(model: dsl.Input[dsl.Model]) -> str:
    import os

    with open(os.path.join(model.path, "model.txt")) as file:
        return file.read()


@dsl.pipeline(name="train-with-a-job")
def train_and_evaluate(manifest: str) -> str:
    trained = train(manifest=manifest)
    return evaluate(model=trained.outputs["model"]).output


@dsl.pipeline(name="train-past-its-timeout")
def train_with_a_deadline(manifest: str) -> None:
    kubernetes.set_timeout(train(manifest=manifest), 4)


@pytest.fixture
async def platform(
    start_platform: Callable[..., Awaitable[Platform]],
    nats_server: TestNats,
    monkeypatch: pytest.MonkeyPatch,
) -> Platform:
    # Steps run with the trainer's environment, where `headrace up` puts the bus's URL.
    monkeypatch.setenv("HEADRACE_NATS_URL", nats_server.url)
    return await start_platform()


async def job_of(platform: Platform, name: str) -> TrainingJobDetail:
    reply = await platform.bus.request(GetTrainingJob(name=name), timeout=5)
    assert isinstance(reply, TrainingJobDetail)
    return reply


async def test_a_step_runs_a_two_replica_job_and_keeps_its_model(
    platform: Platform, tmp_path: Path
) -> None:
    run = await platform.run(train_and_evaluate, {"manifest": manifest(tmp_path)})
    assert run.state == "SUCCEEDED", run
    trained, evaluated = step(run, "train"), step(run, "evaluate")
    assert trained is not None
    assert evaluated is not None
    assert evaluated.output_parameters["Output"] == "weights of 2 replicas"
    (model,) = trained.output_artifacts["model"]
    assert read_text(Path(model.uri.removeprefix("file://"), "model.txt")) == (
        "weights of 2 replicas"
    )
    name = trained.output_parameters["Output"]
    assert isinstance(name, str)
    assert name.startswith("tiny-")
    job = (await job_of(platform, name)).job
    assert job is not None
    assert job.state == "SUCCEEDED"
    assert (job.run_id, job.step_id) == (run.run_id, "train")
    assert sorted(pid_files(tmp_path)) == ["0.pid", "1.pid"]


async def test_a_failed_job_fails_the_step_and_the_run_with_its_reason(
    platform: Platform, tmp_path: Path
) -> None:
    run = await platform.run(train_and_evaluate, {"manifest": manifest(tmp_path, FAIL_RANK="1")})
    assert run.state == "FAILED"
    trained = step(run, "train")
    assert trained is not None
    assert trained.state == "FAILED"
    assert "JobFailedError: training job 'default/tiny-" in trained.reason
    assert "failed (Failed, exit code 3): PyTorchJob" in trained.reason
    assert "(worker-0 exited with code 3)" in trained.reason
    assert trained.reason in run.error
    evaluated = step(run, "evaluate")
    assert evaluated is None or evaluated.state != "SUCCEEDED"


async def test_cancelling_the_run_deletes_the_job_it_waits_for(
    platform: Platform, tmp_path: Path
) -> None:
    run_id = await platform.submit(train_and_evaluate, {"manifest": manifest(tmp_path, HOLD="1")})
    pids = await replica_pids(tmp_path)
    await platform.cancel(run_id)
    run = await platform.wait(run_id)
    assert run.state == "CANCELLED"
    await no_job_left(platform, pids)


async def test_a_step_past_its_timeout_deletes_the_job_it_waits_for(
    platform: Platform, tmp_path: Path
) -> None:
    path = tmp_path / "deadline.yaml"
    compiler.Compiler().compile(train_with_a_deadline, str(path))
    spec, platform_spec = load_pipeline(path)
    arguments = {"manifest": manifest(tmp_path, HOLD="1")}
    run_id = await platform.submit(spec, arguments, platform_spec=platform_spec)
    pids = await replica_pids(tmp_path)
    run = await platform.wait(run_id)
    assert run.state == "FAILED"
    trained = step(run, "train")
    assert trained is not None
    assert trained.reason.startswith("step 'train' ran longer than its timeout of 4 s")
    await no_job_left(platform, pids)


async def replica_pids(folder: Path) -> list[int]:
    """The pids both replicas leave once they run (no event reaches the test for it)."""
    deadline = asyncio.get_running_loop().time() + 60
    while len(pid_files(folder)) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the job's replicas never started"
        await asyncio.sleep(0.05)
    return [int(read_text(folder / name)) for name in pid_files(folder)]


async def no_job_left(platform: Platform, pids: list[int]) -> None:
    """The helper deleted the job: the trainer stops its replicas, then drops the job."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        reply = await platform.bus.request(ListTrainingJobs(namespace="default"), timeout=5)
        assert isinstance(reply, TrainingJobList)
        if not reply.jobs:
            break
        assert asyncio.get_running_loop().time() < deadline, f"job left: {reply.jobs}"
        await asyncio.sleep(0.05)
    for pid in pids:
        assert not _alive(pid), f"replica process {pid} is still running"


def pid_files(folder: Path) -> list[str]:
    return [path.name for path in folder.glob("*.pid")]


def read_text(path: Path) -> str:
    return path.read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
