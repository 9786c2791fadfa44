"""A training job's gang for one attempt: each replica's command, folder, environment and
resources, as the local backend runs them (pure: paths and ports are given).

* the command is the container's ``command`` + ``args``; the ``image`` is not used locally
  (the replica runs in the trainer's Python environment, whose ``bin`` folder comes first
  on its ``PATH``, so ``python`` and ``torchrun`` are that environment's);
* it runs in the container's ``workingDir`` (a relative one under ``base``), else in
  ``base`` (the manifest's folder, sent by ``headrace apply``), else in the job's folder;
* its environment is the container's ``env``, then the distributed environment
  (`distributed_env`, which wins), then ``HEADRACE_OUTPUT_DIR`` (the job's output folder,
  stored as the job's output artifact when it succeeds), ``HEADRACE_JOB_NAME``,
  ``HEADRACE_JOB_NAMESPACE`` and ``HEADRACE_REPLICA`` (``worker-1``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from kubernetes.utils.quantity import parse_quantity

from headrace_contracts import Resources
from headrace_contracts.kubeflow import ReplicaGroup, Role, TrainingJobSpec

from ..backends.base import Gang, Rendezvous, ReplicaLaunch, ReplicaResources
from ..errors import GangInvalid
from .distributed import Endpoint, distributed_env

__all__ = ["build_gang", "endpoints_for", "log_key", "replica_resources"]


def log_key(job: TrainingJobSpec, uid: str, attempt: int, role: str, index: int) -> str:
    """Where replica ``role``-``index`` of gang attempt ``attempt`` keeps its log."""
    return f"training-jobs/{job.namespace}/{job.name}/{uid}/attempt-{attempt}/{role}-{index}.log"


def endpoints_for(job: TrainingJobSpec, rendezvous: Rendezvous) -> dict[Role, list[Endpoint]]:
    """One port of ``rendezvous`` per replica, in start order (the first is the master's)."""
    ports = iter(rendezvous.ports)
    found: dict[Role, list[Endpoint]] = {}
    for role, _ in job.replica_names():
        found.setdefault(role, []).append(Endpoint(rendezvous.host, next(ports)))
    return found


def replica_resources(resources: Resources, gpus: int) -> ReplicaResources:
    def quantity(text: str | None) -> Decimal | None:
        return Decimal(str(parse_quantity(text))) if text else None

    memory = quantity(resources.memory)
    memory_limit = quantity(resources.memory_limit)
    return ReplicaResources(
        cpus=quantity(resources.cpu) or Decimal(0),
        memory=int(memory) if memory is not None else 0,
        gpus=gpus,
        cpu_limit=quantity(resources.cpu_limit),
        memory_limit=int(memory_limit) if memory_limit is not None else None,
    )


def build_gang(
    job: TrainingJobSpec,
    *,
    gang_id: str,
    uid: str,
    attempt: int,
    rendezvous: Rendezvous,
    base: Path | None,
    job_folder: Path,
    python_bin: str,
    path: str,
) -> Gang:
    """The gang of attempt ``attempt`` (from 1); `GangInvalid` names a replica that cannot
    run locally."""
    endpoints = endpoints_for(job, rendezvous)
    replicas = []
    for group in job.replicas:
        for index in range(group.count):
            replicas.append(_replica(job, group, index, endpoints, uid, attempt, base, job_folder))
    extra = {"PATH": f"{python_bin}:{path}" if path else python_bin}
    return Gang(
        gang_id,
        tuple(
            ReplicaLaunch(
                r.role, r.index, r.argv, {**extra, **r.env}, r.cwd, r.resources, r.log_key
            )
            for r in replicas
        ),
        attempt=attempt,
        source=job,  # what a backend that builds its own objects (Kubernetes) runs
    )


def _replica(
    job: TrainingJobSpec,
    group: ReplicaGroup,
    index: int,
    endpoints: dict[Role, list[Endpoint]],
    uid: str,
    attempt: int,
    base: Path | None,
    job_folder: Path,
) -> ReplicaLaunch:
    container = group.container
    argv = (*container.command, *container.args)
    if not argv:
        raise GangInvalid(
            f"the {group.replica_type} container gives no command: the local backend runs "
            "no image entrypoint; give `command` (and `args`)"
        )
    cwd = base or job_folder
    if container.working_dir:
        cwd = cwd / container.working_dir  # an absolute workingDir replaces the base
    env = {variable.name: variable.value for variable in container.env}
    env.update(distributed_env(job, group.role, index, endpoints))
    env.update(
        HEADRACE_OUTPUT_DIR=str(job_folder / "output"),
        HEADRACE_JOB_NAME=job.name,
        HEADRACE_JOB_NAMESPACE=job.namespace,
        HEADRACE_REPLICA=f"{group.role}-{index}",
    )
    return ReplicaLaunch(
        group.role,
        index,
        argv,
        env,
        cwd,
        replica_resources(group.resources, group.gpus),
        log_key(job, uid, attempt, group.role, index),
    )
