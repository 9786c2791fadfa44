"""Kubernetes objects and watch events as the backend interface's vocabulary (pure: no
client, no clock): `pod_state` and `job_state` read one object, `Observer` turns a pod
watch (with its expiries and relists) and a restart's adoption list into `GangEvent`s.
What each case becomes: docs/kubernetes.md."""

from .identity import ReplicaKey, headrace_identity
from .jobs import JobObservation, job_state, parse_indexes
from .observer import Observer
from .pods import FATAL_WAITING, PodObservation, Termination, pod_state

__all__ = [
    "FATAL_WAITING",
    "JobObservation",
    "Observer",
    "PodObservation",
    "ReplicaKey",
    "Termination",
    "headrace_identity",
    "job_state",
    "parse_indexes",
    "pod_state",
]
