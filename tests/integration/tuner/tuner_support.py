"""Helpers of the tuner tests: a platform of a real nats-server, a trainer and a tuner
process on one home, and Katib experiments whose trials are small Python programs."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml

from headrace import Client
from headrace.run_errors import PlatformUnavailable
from headrace_contracts import ExperimentView
from headrace_testing import BlockingServiceProcess, TestNats, service_settings
from headrace_tuner.search.study import open_storage

TRAINER_ENV = {
    "HEADRACE_TRAINER_JOB_BACKOFF_SECONDS": "0.1",
    "HEADRACE_TRAINER_JOB_LOG_UPLOAD_SECONDS": "0.2",
    "HEADRACE_TRAINER_FORK_SERVER": "false",
    "HEADRACE_TRAINER_STEP_ENVIRONMENTS": "false",
}


def service(
    name: str, home: Path, nats_url: str, database_url: str | None = None, **env: str
) -> BlockingServiceProcess:
    """``headrace-<name>`` as a process of its own on ``home`` (a short ack wait, so a
    message a killed service held comes back quickly), on ``database_url`` if given."""
    settings = service_settings(
        home, nats_url, outbox_interval=0.05, ack_wait=2.0, database_url=database_url
    )
    return BlockingServiceProcess(f"headrace-{name}", settings, home / f"{name}.log", **env)


@dataclass
class Platform:
    """The platform of one test module (see conftest.py)."""

    nats: TestNats
    home: Path
    trainer: BlockingServiceProcess
    tuner: BlockingServiceProcess
    folder: Path
    database_url: str | None = None

    def restart_tuner(self) -> None:
        self.tuner = service("tuner", self.home, self.nats.url, self.database_url)
        self.tuner.start()

    def study(self, name: str) -> optuna.Study:
        """The experiment's Optuna study, as the tuner keeps it."""
        url = self.database_url or f"sqlite:///{self.home / 'tuner.db'}"
        return optuna.load_study(study_name=name, storage=open_storage(url, "tuner"))


def ready(client: Client, timeout: float = 30) -> None:
    """Until both the trainer and the tuner answer ``client``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_jobs()
            client.list_experiments()
            return
        except PlatformUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def experiment(
    name: str,
    code: str,
    parameters: list[dict[str, Any]],
    *,
    objective: dict[str, Any] | None = None,
    algorithm: str = "random",
    settings: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A Katib Experiment whose trials run ``python -c code`` with every parameter passed as
    an environment variable of its own name (upper-cased)."""
    env = [
        {"name": p["name"].upper(), "value": f"${{trialParameters.{p['name']}}}"}
        for p in parameters
    ]
    container = {
        "name": "training-container",
        "image": "python:3.11",
        "command": ["python", "-c", code],
        "env": env,
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": {
            "objective": objective or {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {
                "algorithmName": algorithm,
                "algorithmSettings": [{"name": k, "value": v} for k, v in (settings or {}).items()],
            },
            "parameters": parameters,
            "trialTemplate": {
                "trialParameters": [
                    {"name": p["name"], "reference": p["name"]} for p in parameters
                ],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {"spec": {"containers": [container], "restartPolicy": "Never"}}
                    },
                },
            },
            **spec,
        },
    }


def write(folder: Path, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{document['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def wait_until(
    client: Client,
    name: str,
    predicate: Callable[[ExperimentView], bool],
    timeout: float,
    what: str,
) -> ExperimentView:
    """Poll the experiment until ``predicate`` holds (no event says a view changed)."""
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = client.get_experiment(name)
        if predicate(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"experiment {name} never {what}; last: {found}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False
