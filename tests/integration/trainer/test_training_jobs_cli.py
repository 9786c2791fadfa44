"""`headrace apply` and `headrace job` as a user types them: every bad input refused with
its document and path (exit 2), a command that does not exist failing the job at once, and
a trainer killed with kill -9 while a job runs (the job is adopted, not run again)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from job_support import (
    TrainerProcess,
    gone,
    pytorch_job,
    running,
    script,
    until,
    wait_job,
    write_manifest,
)

from headrace import Client
from headrace.cli import main
from headrace_contracts import GetTrainingJob, SubmitTrainingJob, TrainingJobCreated
from headrace_testing import TestNats, nats_for_test
from headrace_testing.wire_order import subjects_seen


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestNats, TrainerProcess]]:
    folder = tmp_path_factory.mktemp("jobs-cli")
    with nats_for_test(folder) as nats:
        # 4 CPUs to admit gangs against, whatever the machine has
        trainer = TrainerProcess(folder / "home", nats.url, HEADRACE_TRAINER_CPUS="4")
        trainer.start()
        try:
            yield nats, trainer
        finally:
            trainer.stop()


@pytest.fixture
def client(platform: tuple[TestNats, TrainerProcess]) -> Iterator[Client]:
    nats, trainer = platform
    with Client(nats_url=nats.url, timeout=10) as found:
        trainer.ready(found)
        yield found


@pytest.fixture
def url(platform: tuple[TestNats, TrainerProcess]) -> str:
    return platform[0].url


def test_apply_asks_for_the_job_once_the_trainer_has_answered(
    client: Client, url: str, tmp_path: Path
) -> None:
    """One question before sending (is there such a job?), and one after the trainer's
    TrainingJobCreated (the job as recorded): asking until it was recorded asked before the
    answer, straight after the command."""
    manifest = write_manifest(tmp_path, "once", pytorch_job("once", [sys.executable, "-V"]))
    ask, send, answer = (
        GetTrainingJob.subject(),
        SubmitTrainingJob.subject(),
        TrainingJobCreated.subject(),
    )
    with subjects_seen(url, ask, send, answer) as seen:
        [applied] = client.apply(manifest)
    assert applied.created
    assert applied.job.name == "once"
    assert seen == [ask, send, answer, ask]


def test_apply_prints_each_job_created_and_job_get_shows_it(
    client: Client, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quick = [sys.executable, "-c", "print('loss=0.5'); print('loss=0.1')"]
    manifest = write_manifest(
        tmp_path, "two", pytorch_job("first", quick), pytorch_job("second", quick)
    )
    assert main(["apply", "-f", str(manifest), "--nats-url", url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "pytorchjob.kubeflow.org/first created",
        "pytorchjob.kubeflow.org/second created",
    ]
    client.wait_job("first", timeout=60)
    client.wait_job("second", timeout=60)
    assert main(["job", "get", "first", "--nats-url", url]) == 0
    shown = capsys.readouterr().out
    assert "State:      SUCCEEDED" in shown
    assert "master-0" in shown
    assert "worker-0" in shown
    assert "exit 0" in shown
    assert "loss = 0.1" in shown
    assert main(["job", "list", "--nats-url", url, "--json"]) == 0
    assert {"first", "second"} <= {job["name"] for job in yaml.safe_load(capsys.readouterr().out)}
    # master-0's exit decided the job, so its log is stored by then; worker-0 may have been
    # stopped before it printed (a PyTorchJob succeeds with its master)
    assert main(["job", "logs", "first", "--replica", "master-0", "--nats-url", url]) == 0
    assert capsys.readouterr().out == "loss=0.5\nloss=0.1\n"
    assert main(["apply", "-f", str(manifest), "--nats-url", url]) == 0
    assert "pytorchjob.kubeflow.org/first unchanged" in capsys.readouterr().out
    changed = write_manifest(tmp_path, "two", pytorch_job("first", [sys.executable, "-V"]))
    assert main(["apply", "-f", str(changed), "--nats-url", url]) == 2
    assert "training job 'first' exists in namespace 'default' (SUCCEEDED) with another spec" in (
        capsys.readouterr().err
    )
    assert main(["job", "delete", "first", "--nats-url", url]) == 0
    assert capsys.readouterr().out.strip() == "pytorchjob/first deleted"
    assert main(["job", "get", "nothing", "--nats-url", url]) == 2
    assert "no training job 'nothing' in namespace 'default'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: x\n",
            "is not valid YAML",
        ),
        (
            yaml.safe_dump(
                {
                    **pytorch_job("zero", ["python", "-V"]),
                    "spec": {
                        "pytorchReplicaSpecs": {
                            "Worker": {
                                "replicas": 0,
                                "template": {
                                    "spec": {"containers": [{"name": "pytorch", "image": "i"}]}
                                },
                            }
                        }
                    },
                }
            ),
            "spec.pytorchReplicaSpecs.Worker.replicas",
        ),
        ("kind: Deployment\napiVersion: apps/v1\n", "unknown kind 'Deployment'"),
    ],
    ids=["invalid-yaml", "replica-count-0", "unknown-kind"],
)
def test_apply_refuses_a_bad_file_with_each_problem_and_exit_2(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["apply", "-f", str(path), "--nats-url", url]) == 2
    err = capsys.readouterr().err
    assert f"headrace: {path}: the Kubeflow YAML has" in err
    assert "document 0" in err
    assert expected in err


def test_apply_of_a_missing_file_names_it(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "-f", str(tmp_path / "nope.yaml"), "--nats-url", url]) == 2
    assert "nope.yaml: cannot be read (No such file or directory)" in capsys.readouterr().err


def test_a_command_that_does_not_exist_fails_the_job_at_once_naming_it(
    client: Client, url: str, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path, "ghost", pytorch_job("ghost", ["no-such-trainer-cmd"]))
    assert main(["apply", "-f", str(manifest), "--nats-url", url]) == 0
    job = client.wait_job("ghost", timeout=30)
    assert (job.state, job.reason) == ("FAILED", "FailedToStart")
    failed = next(c for c in job.conditions if c.type == "Failed")
    assert "runs command 'no-such-trainer-cmd', which was not found" in failed.message


def test_an_invalid_manifest_sent_past_the_cli_is_recorded_failed(client: Client) -> None:
    manifest = pytorch_job("sneaky", ["python", "-V"])
    manifest["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = 0
    client._call(client._publish(SubmitTrainingJob(job_id="default/sneaky", manifest=manifest)))
    job = wait_job(client, "sneaky", lambda j: j.state == "FAILED", what="failed")
    assert job.reason == "InvalidManifest"
    assert "spec.pytorchReplicaSpecs.Master.replicas" in job.conditions[0].message


def test_a_job_waiting_for_cpus_is_deleted_before_any_replica_starts(
    client: Client, url: str, tmp_path: Path
) -> None:
    hold = script(
        tmp_path,
        "hold.py",
        """
        import os, pathlib, sys, time
        pathlib.Path(sys.argv[1], f"started-{os.getpid()}").touch()
        time.sleep(120)
        """,
    )
    command = ["python", hold.name, str(tmp_path)]
    big = write_manifest(tmp_path, "big", pytorch_job("big", command, cpu="2"))
    small = write_manifest(tmp_path, "small", pytorch_job("small", command, cpu="1"))
    client.apply(big)
    wait_job(client, "big", lambda j: j.state == "RUNNING", what="ran")
    client.apply(small)  # 2 x 1 CPU: waits while `big` holds all 4
    until(lambda: len(list(tmp_path.glob("started-*"))) == 2, 30, "big's replicas")
    assert client.get_job("small").state == "CREATED"
    client.delete_job("small")
    until(lambda: gone(client, "small"), 30, "small deleted")
    client.delete_job("big")
    until(lambda: gone(client, "big"), 30, "big deleted")
    assert len(list(tmp_path.glob("started-*"))) == 2  # small never started a replica
    assert not any(running(int(p.name.split("-")[1])) for p in tmp_path.glob("started-*"))


def test_a_trainer_killed_with_kill_9_adopts_its_running_job_after_restart(
    tmp_path: Path,
) -> None:
    held = script(
        tmp_path,
        "held.py",
        """
        import os, pathlib, sys, time
        folder = pathlib.Path(sys.argv[1])
        with open(folder / "effects", "a") as effects:
            effects.write(f"{os.environ['HEADRACE_REPLICA']} {os.getpid()}\\n")
        while not (folder / "release").exists():
            time.sleep(0.02)
        print("loss=0.05", flush=True)
        """,
    )
    manifest = write_manifest(
        tmp_path, "survivor", pytorch_job("survivor", ["python", held.name, str(tmp_path)])
    )
    effects = tmp_path / "effects"
    with nats_for_test(tmp_path) as nats, Client(nats_url=nats.url, timeout=10) as client:
        first = TrainerProcess(tmp_path / "home", nats.url)
        first.start()
        second = TrainerProcess(tmp_path / "home", nats.url)
        try:
            first.ready(client)
            client.apply(manifest)
            wait_job(client, "survivor", lambda j: j.state == "RUNNING", what="ran")
            until(
                lambda: effects.exists() and len(effects.read_text().split("\n")) == 3,
                30,
                "2 replicas",
            )
            pids = [int(line.split()[1]) for line in effects.read_text().splitlines()]
            first.kill()
            assert all(running(pid) for pid in pids)
            second.start()
            second.ready(client)
            (tmp_path / "release").touch()
            job = client.wait_job("survivor", timeout=60)
            assert job.state == "SUCCEEDED", job
            assert len(effects.read_text().splitlines()) == 2  # not run again
            assert job.metrics == {"loss": 0.05}
        finally:
            (tmp_path / "release").touch()
            first.stop()
            second.stop()
