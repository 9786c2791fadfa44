"""Helpers of the training-job tests: a trainer as a real process, manifests of small
Python replicas, and waiting on a job through the client."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml

from headrace import Client
from headrace.job_errors import JobNotFound
from headrace.run_errors import PlatformUnavailable
from headrace_contracts import TrainingJobView
from headrace_testing import BlockingServiceProcess, service_settings

QUICK = {
    "HEADRACE_TRAINER_JOB_BACKOFF_SECONDS": "0.1",
    "HEADRACE_TRAINER_JOB_LOG_UPLOAD_SECONDS": "0.2",
    "HEADRACE_TRAINER_FORK_SERVER": "false",
    "HEADRACE_TRAINER_STEP_ENVIRONMENTS": "false",
}


class TrainerProcess(BlockingServiceProcess):
    """``headrace-trainer`` as a process of its own on ``home`` (kill -9 or stop it), with
    quick restarts and log copies."""

    def __init__(self, home: Path, nats_url: str, **env: str) -> None:
        settings = service_settings(home, nats_url, outbox_interval=0.05)
        super().__init__("headrace-trainer", settings, home / "trainer.log", **QUICK, **env)

    def ready(self, client: Client, timeout: float = 30) -> None:
        ready(client, timeout)


def ready(client: Client, timeout: float = 30) -> None:
    """Until a trainer answers ``client``'s job queries."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_jobs()
            return
        except PlatformUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def script(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(code))
    return path


def pytorch_job(
    name: str,
    command: list[str],
    *,
    workers: int = 1,
    restart: str = "Never",
    run_policy: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    cpu: str = "",
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "pytorch",
        "image": "python:3.11",
        "command": command,
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
    }
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    template = {"spec": {"containers": [container]}}
    spec: dict[str, Any] = {
        "pytorchReplicaSpecs": {
            "Master": {"replicas": 1, "restartPolicy": restart, "template": template},
            "Worker": {"replicas": workers, "restartPolicy": restart, "template": template},
        }
    }
    if run_policy:
        spec["runPolicy"] = run_policy
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": spec,
    }


def write_manifest(folder: Path, name: str, *documents: dict[str, Any]) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


def wait_job(
    client: Client, name: str, predicate: Any, timeout: float = 30, what: str = ""
) -> TrainingJobView:
    """Poll the job until ``predicate(job)`` holds (no event says a view changed)."""
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        try:
            job = client.get_job(name)
        except JobNotFound:  # not recorded yet
            job = None
        if job is not None and predicate(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {name} never {what or 'matched'}; last: {job}")


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def until(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate()`` until it holds (the processes and files here send no events)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def gone(client: Client, name: str) -> bool:
    return name not in [job.name for job in client.list_jobs()]
