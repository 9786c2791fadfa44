"""Helpers of the training-job tests: a trainer as a real process, manifests of small
Python replicas, and waiting on a job through the client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml

from headrace import Client
from headrace.run_errors import PlatformUnavailable
from headrace_contracts import TrainingJobView
from headrace_runtime import Settings
from headrace_testing import service_settings

QUICK = {
    "HEADRACE_TRAINER_JOB_BACKOFF_SECONDS": "0.1",
    "HEADRACE_TRAINER_JOB_LOG_UPLOAD_SECONDS": "0.2",
    "HEADRACE_TRAINER_FORK_SERVER": "false",
    "HEADRACE_TRAINER_STEP_ENVIRONMENTS": "false",
}


class TrainerProcess:
    """``headrace-trainer`` as a process of its own on ``home`` (kill -9 or stop it)."""

    def __init__(self, home: Path, nats_url: str) -> None:
        self.settings: Settings = service_settings(home, nats_url, outbox_interval=0.05)
        self.log = home / "trainer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        variables = {
            f"HEADRACE_{name.upper()}": str(value)
            for name, value in self.settings.model_dump().items()
            if value is not None
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "headrace-trainer")],
                env={**os.environ, **variables, **QUICK},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ready(self, client: Client, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.list_jobs()
                return
            except PlatformUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


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
) -> dict[str, Any]:
    container = {
        "name": "pytorch",
        "image": "python:3.11",
        "command": command,
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
    }
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
        job = client.get_job(name)
        if predicate(job):
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
