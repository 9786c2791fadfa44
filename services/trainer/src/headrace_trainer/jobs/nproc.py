"""How many processes a replica runs per node (torchrun's ``--nproc-per-node``).

* an integer: as given;
* ``auto`` (or not given, which Kubeflow defaults to ``auto``): one per GPU when the replica
  asks for ``nvidia.com/gpu``; else one per CPU of the replica's CPU request, else its limit,
  rounded up (``1500m`` -> 2), as Trainer v2 resolves it; 1 when it asks for no CPU.
  Never one per host CPU (torchrun's own ``auto`` does that, kubeflow/trainer#2407).

``world_size_nproc`` is the other number Kubeflow uses: the count that multiplies into
``WORLD_SIZE``; an explicit integer, else 1 (training-operator v1 ``getNprocPerNodeInt``).
"""

from __future__ import annotations

import math
from decimal import Decimal

from kubernetes.utils.quantity import parse_quantity

from headrace_contracts.kubeflow import ReplicaGroup, TrainingJobSpec

__all__ = ["resolve_nproc", "world_size_nproc"]


def resolve_nproc(job: TrainingJobSpec, group: ReplicaGroup) -> int:
    """Processes per replica of ``group`` (always 1 for a TFJob)."""
    if job.framework != "pytorch":
        return 1
    if isinstance(job.nproc_per_node, int):
        return job.nproc_per_node
    if group.gpus:
        return group.gpus
    cpu = group.resources.cpu_request or group.resources.cpu_limit
    if not cpu:
        return 1
    cpus: Decimal = parse_quantity(cpu)
    return max(1, math.ceil(cpus))


def world_size_nproc(job: TrainingJobSpec) -> int:
    """The per-node factor of ``WORLD_SIZE``: an explicit count, else 1 (as Kubeflow)."""
    return job.nproc_per_node if isinstance(job.nproc_per_node, int) else 1
