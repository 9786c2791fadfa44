"""The environment each replica gets so torchrun, ``torch.distributed`` and TensorFlow find
each other. Pure: the backend decides addresses and ports and passes them in.

PyTorch kinds (training-operator v1 ``setPodEnv``, Trainer v2 torch plugin):

* ``MASTER_ADDR``/``MASTER_PORT`` and ``PET_MASTER_ADDR``/``PET_MASTER_PORT``: the Master
  replica; without one, worker 0 (TrainJob: node 0). Kubeflow v1 leaves them unset for a
  Worker-only job; Headrace sets them so a plain script can still rendezvous.
* ``WORLD_SIZE`` = total replicas x ``world_size_nproc`` (the explicit nprocPerNode, else 1).
* ``RANK`` = ``PET_NODE_RANK`` = the replica's node rank: Master 0, Worker i -> i + 1 (no
  Master: Worker i -> i).
* ``PET_NNODES`` = total replicas, or ``min:max`` with an elastic policy (which also sets
  ``PET_RDZV_ENDPOINT`` on worker 0, ``PET_RDZV_BACKEND``, ``PET_MAX_RESTARTS``, ``PET_RDZV_ID``).
* ``PET_NPROC_PER_NODE`` = :func:`resolve_nproc` (a number, never ``auto``).
* ``LOCAL_RANK=0``: the replica's own process; torchrun sets it again for each worker it spawns.

TFJob: ``TF_CONFIG`` = ``{"cluster": {role: [host:port, ...]}, "task": {"type": role,
"index": i}, "environment": "cloud"}`` when the job has more than one replica, as v1 does.

Every replica also gets ``PYTHONUNBUFFERED=1`` so its log can be followed line by line.
These variables win over a container ``env`` entry of the same name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from headrace_contracts.kubeflow import Role, TrainingJobSpec

from .nproc import resolve_nproc, world_size_nproc

__all__ = ["Endpoint", "distributed_env", "master_of", "node_rank"]


@dataclass(frozen=True)
class Endpoint:
    """Where one replica listens: a host name or address and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


Endpoints = Mapping[Role, Sequence[Endpoint]]
"""role -> the endpoint of each replica of that role, by index."""


def distributed_env(
    job: TrainingJobSpec, role: Role, index: int, endpoints: Endpoints
) -> dict[str, str]:
    """The variables replica ``role``-``index`` of ``job`` starts with.

    ``endpoints`` must hold every replica of the job (``ValueError`` otherwise, naming the
    missing one).
    """
    group = job.group(role)
    if group is None or not 0 <= index < group.count:
        raise ValueError(f"job {job.name} has no replica {role}-{index}")
    _check_endpoints(job, endpoints)
    env = {"PYTHONUNBUFFERED": "1"}
    if job.framework == "tensorflow":
        if job.total_replicas != 1:
            env["TF_CONFIG"] = _tf_config(job, role, index, endpoints)
        return env
    master_role, master_index = master_of(job)
    master = endpoints[master_role][master_index]
    rank = node_rank(job, role, index)
    env.update(
        {
            "MASTER_ADDR": master.host,
            "MASTER_PORT": str(master.port),
            "PET_MASTER_ADDR": master.host,
            "PET_MASTER_PORT": str(master.port),
            "WORLD_SIZE": str(job.total_replicas * world_size_nproc(job)),
            "RANK": str(rank),
            "PET_NODE_RANK": str(rank),
            "LOCAL_RANK": "0",
            "PET_NPROC_PER_NODE": str(resolve_nproc(job, group)),
            "PET_NNODES": str(job.total_replicas),
        }
    )
    if job.elastic is not None:
        elastic = job.elastic
        env["PET_NNODES"] = f"{elastic.min_replicas}:{elastic.max_replicas}"
        env["PET_RDZV_ENDPOINT"] = str(endpoints["worker"][0])
        env["PET_RDZV_BACKEND"] = elastic.rdzv_backend
        if elastic.max_restarts is not None:
            env["PET_MAX_RESTARTS"] = str(elastic.max_restarts)
        if elastic.rdzv_id:
            env["PET_RDZV_ID"] = elastic.rdzv_id
    return env


def master_of(job: TrainingJobSpec) -> tuple[Role, int]:
    """The replica that coordinates: master, else chief, else worker 0, else node 0."""
    for role in ("master", "chief", "worker", "node"):
        if job.group(role) is not None:
            return role, 0
    return job.replicas[0].role, 0


def node_rank(job: TrainingJobSpec, role: Role, index: int) -> int:
    """A PyTorch replica's node rank: Master 0, then Workers from 1 (from 0 without Master)."""
    if role == "worker" and job.group("master") is not None:
        return index + 1
    return index


def _tf_config(job: TrainingJobSpec, role: Role, index: int, endpoints: Endpoints) -> str:
    cluster = {g.role: [str(e) for e in endpoints[g.role][: g.count]] for g in job.replicas}
    config = {
        "cluster": dict(sorted(cluster.items())),
        "task": {"type": role, "index": index},
        "environment": "cloud",
    }
    return json.dumps(config, separators=(",", ":"))


def _check_endpoints(job: TrainingJobSpec, endpoints: Endpoints) -> None:
    for group in job.replicas:
        given = len(endpoints.get(group.role, ()))
        if given < group.count:
            raise ValueError(
                f"job {job.name} has {group.count} {group.role} replicas but {given} "
                f"endpoints were given for them: assign one per replica"
            )
