"""Training jobs, pure logic: the distributed environment, processes per node, and the gang
and restart policy. The job model and its YAML loaders live in ``headrace_contracts.kubeflow``
(shared with the CLI); backends and handlers build on these modules."""

from .conditions import is_true, set_condition, timestamp
from .distributed import Endpoint, distributed_env, master_of, node_rank
from .nproc import resolve_nproc, world_size_nproc
from .policy import (
    Backoff,
    DeadlinePassed,
    Decision,
    Deleted,
    Fail,
    GangPolicy,
    GangStarted,
    JobEvent,
    JobState,
    Phase,
    ReplicaExited,
    Resume,
    StartFailed,
    StartGang,
    StopGang,
    Succeed,
    Suspend,
    exit_code_of,
    is_retryable,
)

__all__ = [
    "Backoff",
    "DeadlinePassed",
    "Decision",
    "Deleted",
    "Endpoint",
    "Fail",
    "GangPolicy",
    "GangStarted",
    "JobEvent",
    "JobState",
    "Phase",
    "ReplicaExited",
    "Resume",
    "StartFailed",
    "StartGang",
    "StopGang",
    "Succeed",
    "Suspend",
    "distributed_env",
    "exit_code_of",
    "is_retryable",
    "is_true",
    "master_of",
    "node_rank",
    "resolve_nproc",
    "set_condition",
    "timestamp",
    "world_size_nproc",
]
