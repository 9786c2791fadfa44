"""Distributed training jobs: PyTorchJob / TFJob / plain Jobs (area ``trainingjob``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event
from .common import Value

CONDITION_TYPES = ("Created", "Running", "Restarting", "Succeeded", "Failed", "Suspended")

METRICS_FORMAT_ANNOTATION = "headrace.io/metrics-format"
"""A job's ``metadata.annotations`` key: a JSON list of regular expressions (group 1 the
metric's name, group 2 its value) that replace the ``name=value`` format when the trainer
reads metrics from the job's output (a Katib StdOut collector's ``metricsFormat``)."""

METRICS_INTERVAL_ANNOTATION = "headrace.io/metrics-interval"
"""A job's ``metadata.annotations`` key: the least seconds between two reports of one
metric (default 1); ``"0"`` reports every changed value (what a tuner trial needs for its
min/max strategies and its pruner)."""


class JobCondition(Value):
    """One condition of a job, as Kubeflow reports it in ``status.conditions``.

    ``reason`` is ``<Kind><Event>`` (``PyTorchJobRunning``, ``TFJobFailed``, ...); the time
    is ISO 8601 UTC and changes only when ``status`` does.
    """

    type: str = Field(description="Created, Running, Restarting, Succeeded, Failed, Suspended")
    status: str = Field(default="True", description="True, False or Unknown")
    reason: str = ""
    message: str = ""
    last_transition_time: str = ""


class ReplicaStatus(Value):
    """The replicas of one type (Master, Worker, ...): how many run, succeeded, failed."""

    active: int = 0
    succeeded: int = 0
    failed: int = 0
    exit_codes: dict[int, int] = Field(
        default_factory=dict, description="replica index -> exit code of its last attempt"
    )


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
    working_dir: str = Field(
        default="",
        description="local backend: the folder replicas run in when the container names no "
        "workingDir (the CLI sends the manifest's folder); relative workingDirs resolve here",
    )


class TrainingJobStarted(Event):
    AREA = "trainingjob"
    NAME = "started"

    job_id: str
    replicas: dict[str, int] = Field(default_factory=dict, description="replica type -> count")
    backend: str = "local"
    attempt: int = 0


class TrainingJobSucceeded(Event):
    AREA = "trainingjob"
    NAME = "succeeded"

    job_id: str
    duration_seconds: float = 0.0
    conditions: list[JobCondition] = Field(default_factory=list)
    replica_statuses: dict[str, ReplicaStatus] = Field(default_factory=dict)


class TrainingJobFailed(Event):
    AREA = "trainingjob"
    NAME = "failed"

    job_id: str
    reason: str
    replica: str = ""
    exit_code: int | None = None
    log_tail: str = Field(default="", description="the failed replica's last log lines")
    conditions: list[JobCondition] = Field(default_factory=list)
    replica_statuses: dict[str, ReplicaStatus] = Field(default_factory=dict)


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
    conditions: list[JobCondition] = Field(default_factory=list)
    replica_statuses: dict[str, ReplicaStatus] = Field(default_factory=dict)


class SuspendTrainingJob(Command):
    """Stop every replica of a job and keep it, to be resumed (Kubeflow ``runPolicy.suspend``)."""

    AREA = "trainingjob"
    NAME = "suspend"

    job_id: str
    namespace: str = "default"


class ResumeTrainingJob(Command):
    """Start a suspended job's replicas again, as a new gang (its deadline restarts)."""

    AREA = "trainingjob"
    NAME = "resume"

    job_id: str
    namespace: str = "default"


class TrainingJobCreated(Event):
    """The job was accepted (condition ``Created``); its replicas are not started yet."""

    AREA = "trainingjob"
    NAME = "created"

    job_id: str
    name: str = ""
    namespace: str = "default"
    kind: str = ""
    replicas: dict[str, int] = Field(default_factory=dict, description="replica type -> count")
    conditions: list[JobCondition] = Field(default_factory=list)


class TrainingJobRunning(Event):
    """Every replica of the gang runs (condition ``Running``)."""

    AREA = "trainingjob"
    NAME = "running"

    job_id: str
    attempt: int = Field(default=0, description="0 for the first gang, +1 per whole restart")
    conditions: list[JobCondition] = Field(default_factory=list)
    replica_statuses: dict[str, ReplicaStatus] = Field(default_factory=dict)


class TrainingJobRestarting(Event):
    """A replica failed and the whole gang restarts (condition ``Restarting``)."""

    AREA = "trainingjob"
    NAME = "restarting"

    job_id: str
    attempt: int = Field(description="the attempt about to start")
    reason: str = ""
    replica: str = Field(default="", description="the replica that failed, e.g. worker-1")
    exit_code: int | None = None
    conditions: list[JobCondition] = Field(default_factory=list)
    replica_statuses: dict[str, ReplicaStatus] = Field(default_factory=dict)


class TrainingJobSuspended(Event):
    """Every replica was stopped and the job waits to be resumed (``Suspended`` True)."""

    AREA = "trainingjob"
    NAME = "suspended"

    job_id: str
    conditions: list[JobCondition] = Field(default_factory=list)


class TrainingJobResumed(Event):
    """A suspended job was resumed (``Suspended`` False, reason ``<Kind>Resumed``)."""

    AREA = "trainingjob"
    NAME = "resumed"

    job_id: str
    conditions: list[JobCondition] = Field(default_factory=list)
