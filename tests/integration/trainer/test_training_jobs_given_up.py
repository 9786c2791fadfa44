"""A training-job command the bus gives up on shows on the job: a submit whose row cannot be
written (the database refuses it on every delivery) leaves the job FAILED with the error, so
`headrace job get/wait` says why instead of waiting for a job nobody recorded; a suspend
given up leaves the job as it was with a CommandFailed condition. Real nats-server, real
SQLite; the fault is raised inside the database driver."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from job_support import pytorch_job, wait_job, write_manifest

from headrace import Client
from headrace.cli import main
from headrace_contracts import TrainingJobFailed
from headrace_testing import nats_for_test, service_settings, wait_for
from headrace_testing.background import Background
from headrace_testing.faults import StoreFault, parameter_values
from headrace_trainer.app import build
from headrace_trainer.config import TrainerSettings


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Background]:
    with nats_for_test(tmp_path) as nats:
        settings = service_settings(tmp_path / "home", nats.url, max_deliver=2)
        background = Background(nats.url, "headrace.trainingjob.>")
        try:
            quick = TrainerSettings(
                fork_server=False, step_environments=False, cpus=4, job_backoff_seconds=0.1
            )
            background.start(build(settings, trainer=quick))
            yield background
        finally:
            background.stop()


def _engine(platform: Background):  # type: ignore[no-untyped-def]
    (service,) = platform.services
    assert service.engine is not None
    return service.engine


def test_a_submit_the_bus_gives_up_on_fails_the_job_with_the_error(
    platform: Background, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_manifest(
        tmp_path, "lost", pytorch_job("lost", [sys.executable, "-c", "print(1)"])
    )
    # every insert of the new job fails; the FAILED record of the give-up is written
    fault = StoreFault(
        _engine(platform),
        statement="INSERT INTO training_jobs",
        when=lambda parameters: "FAILED" not in parameter_values(parameters),
    )
    try:
        with Client(nats_url=platform.url, timeout=10.0) as client:
            client.submit_timeout = 30.0
            (applied,) = client.apply(manifest)
            job = client.wait_job("lost", timeout=30)
        assert applied.job.state == "FAILED"  # what apply waited for: the failed record
    finally:
        fault.remove()
    assert 2 <= fault.hits <= 3
    assert job.state == "FAILED"
    assert job.reason == "SubmitFailed"
    (failed,) = [c for c in job.conditions if c.type == "Failed"]
    assert failed.reason == "SubmitFailed"
    assert failed.message.startswith(
        "the trainer could not record the job: failed 2 deliveries; last error OperationalError: "
    )
    assert "database is locked" in failed.message
    asyncio.run(wait_for(lambda: bool(platform.of(TrainingJobFailed, job_id="default/lost")), 30))
    capsys.readouterr()
    (event,) = platform.of(TrainingJobFailed, job_id="default/lost")
    assert event.reason == failed.message
    assert main(["job", "get", "lost", "--nats-url", platform.url]) == 0
    shown = capsys.readouterr().out
    assert "State:      FAILED (SubmitFailed)" in shown
    assert "the trainer could not record the job" in shown
    # `headrace apply` creates it as kubectl would, and says at once why it failed
    again = write_manifest(
        tmp_path, "again", pytorch_job("again", [sys.executable, "-c", "print(1)"])
    )
    fault = StoreFault(
        _engine(platform),
        statement="INSERT INTO training_jobs",
        when=lambda parameters: "FAILED" not in parameter_values(parameters),
    )
    try:
        assert main(["apply", "-f", str(again), "--nats-url", platform.url]) == 0
    finally:
        fault.remove()
    printed = capsys.readouterr()
    assert printed.out == "pytorchjob.kubeflow.org/again created\n"
    assert printed.err.startswith(
        "headrace: training job 'default/again' failed (SubmitFailed): the trainer could not "
        "record the job: failed 2 deliveries"
    )


def test_a_suspend_the_bus_gives_up_on_is_a_condition_of_the_job(
    platform: Background, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the replicas run in the manifest's folder, until a file "go" is there
    waiter = [
        sys.executable,
        "-c",
        "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.05)",
    ]
    manifest = write_manifest(tmp_path, "held", pytorch_job("held", waiter))
    with Client(nats_url=platform.url, timeout=10.0) as client:
        client.apply(manifest)
        wait_job(client, "held", lambda job: job.state == "RUNNING", what="ran")
        fault = StoreFault(
            _engine(platform),
            statement="UPDATE training_jobs",
            when=lambda parameters: "suspend" in parameter_values(parameters),
        )
        try:
            client.suspend_job("held")
            job = wait_job(
                client,
                "held",
                lambda job: any(c.type == "CommandFailed" for c in job.conditions),
                what="showed the failed suspend",
            )
        finally:
            fault.remove()
        assert 2 <= fault.hits <= 3
        assert job.state == "RUNNING"
        (condition,) = [c for c in job.conditions if c.type == "CommandFailed"]
        assert condition.reason == "SuspendFailed"
        assert condition.message.startswith("the trainer could not suspend the job: failed 2 ")
        assert main(["job", "get", "held", "--nats-url", platform.url]) == 0
        assert "SuspendFailed" in capsys.readouterr().out
        # the job runs on to its end, and the condition stays with it
        (tmp_path / "go").write_text("")
        done = client.wait_job("held", timeout=30)
        assert done.state == "SUCCEEDED"
        assert [c.reason for c in done.conditions if c.type == "CommandFailed"] == ["SuspendFailed"]
        # a later command is recorded: the failed one is past
        client.resume_job("held")
        wait_job(
            client,
            "held",
            lambda job: all(c.type != "CommandFailed" for c in job.conditions),
            what="forgot the failed suspend",
        )
        client.delete_job("held")
