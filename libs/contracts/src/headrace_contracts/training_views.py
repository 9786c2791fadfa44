"""What the platform answers about training jobs (area ``trainingjob``): request/reply.

The trainer answers ``GetTrainingJob`` (one job with its conditions, replica states and exit
codes) and ``ListTrainingJobs`` (jobs of a namespace, newest first).
"""

from __future__ import annotations

from pydantic import Field

from .base import Query, Reply
from .common import Value
from .training import JobCondition, ReplicaStatus

TRAINING_JOB_STATES = (
    "CREATED",
    "RUNNING",
    "RESTARTING",
    "SUSPENDED",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
)


class ReplicaView(Value):
    """One replica of a job: ``worker-1`` is role ``worker``, index 1."""

    role: str
    index: int
    state: str = Field(description="Pending, Running, Succeeded or Failed")
    exit_code: int | None = None
    attempt: int = 0
    log_uri: str = ""


class TrainingJobView(Value):
    job_id: str
    name: str
    namespace: str = "default"
    kind: str = Field(default="", description="PyTorchJob, TFJob or TrainJob")
    state: str = Field(default="CREATED", description="one of TRAINING_JOB_STATES")
    attempt: int = Field(default=0, description="whole-gang restarts so far")
    conditions: list[JobCondition] = Field(default_factory=list)
    replica_statuses: dict[str, ReplicaStatus] = Field(default_factory=dict)
    replicas: list[ReplicaView] = Field(default_factory=list, description="GetTrainingJob only")
    metrics: dict[str, float] = Field(default_factory=dict, description="latest value of each")
    reason: str = ""
    exit_code: int | None = None
    created_at: str = ""
    started_at: str = ""
    finished_at: str = ""
    spec_digest: str = Field(default="", description="sha256 of the applied manifest")
    log_tail: str = Field(default="", description="the failed replica's last log lines")
    output_uri: str = Field(default="", description="HEADRACE_OUTPUT_DIR as stored at success")
    run_id: str = Field(default="", description="the pipeline run whose step launched it")
    step_id: str = Field(default="", description="the step of that run that launched it")


class TrainingJobDetail(Reply):
    job: TrainingJobView | None = Field(default=None, description="None when no such job")
    error: str = Field(default="", description="why the query was refused")


class GetTrainingJob(Query):
    """One job by name, with every replica."""

    AREA = "trainingjob"
    NAME = "get"
    REPLY = TrainingJobDetail

    name: str
    namespace: str = "default"


class TrainingJobList(Reply):
    jobs: list[TrainingJobView] = Field(default_factory=list, description="without replicas")
    error: str = Field(default="", description="why the query was refused (no jobs then)")


class ListTrainingJobs(Query):
    """Jobs of ``namespace`` (every namespace when empty), newest first."""

    AREA = "trainingjob"
    NAME = "list"
    REPLY = TrainingJobList

    namespace: str = "default"
    state: str = Field(default="", description="only jobs in this state")
    limit: int = Field(default=100, ge=1, le=10_000)
