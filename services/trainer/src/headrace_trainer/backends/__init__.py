"""Workload backends: the interface the launcher reaches workloads through (`base`), and its
implementations (`local`: processes on this machine)."""

from .base import (
    Gang,
    GangEvent,
    GangHandle,
    Phase,
    Rendezvous,
    ReplicaLaunch,
    ReplicaResources,
    ReplicaState,
    WorkloadBackend,
)

__all__ = [
    "Gang",
    "GangEvent",
    "GangHandle",
    "Phase",
    "Rendezvous",
    "ReplicaLaunch",
    "ReplicaResources",
    "ReplicaState",
    "WorkloadBackend",
]
