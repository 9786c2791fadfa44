"""Distributed training jobs: PyTorchJob / TFJob / plain Jobs (area ``trainingjob``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event


class SubmitTrainingJob(Command):
    """Run a training job; ``manifest`` is a Kubeflow PyTorchJob/TFJob or a Headrace job."""

    AREA = "trainingjob"
    NAME = "submit"

    job_id: str
    kind: str = Field(default="PyTorchJob", description="PyTorchJob, TFJob or Job")
    manifest: dict[str, Any]
    namespace: str = "default"
    run_id: str = ""
    step_id: str = ""
    trial_id: str = ""


class TrainingJobStarted(Event):
    AREA = "trainingjob"
    NAME = "started"

    job_id: str
    replicas: dict[str, int] = Field(default_factory=dict, description="replica type -> count")
    backend: str = "local"


class TrainingJobSucceeded(Event):
    AREA = "trainingjob"
    NAME = "succeeded"

    job_id: str
    duration_seconds: float = 0.0


class TrainingJobFailed(Event):
    AREA = "trainingjob"
    NAME = "failed"

    job_id: str
    reason: str
    replica: str = ""
    exit_code: int | None = None


class CancelTrainingJob(Command):
    AREA = "trainingjob"
    NAME = "cancel"

    job_id: str
    reason: str = "cancelled by user"


class TrainingJobCancelled(Event):
    AREA = "trainingjob"
    NAME = "cancelled"

    job_id: str
    reason: str = ""
