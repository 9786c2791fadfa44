"""Wire models -> :class:`TrainingJobSpec`: the checks Kubeflow's webhooks make, and its
defaults (restart policy per framework, elastic min/max, clean-pod policy)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from ..common import Resources
from ._trainjob import KNOWN_RUNTIMES, RUNTIME_IMAGE, TrainJobWire
from ._v1 import PyTorchJobWire, ReplicaSpecWire, RunPolicyWire, TFJobWire
from ._wire import GPU_RESOURCE, ContainerWire, EnvVarWire, ResourceRequirementsWire
from .errors import Problem
from .job import (
    ROLE_ORDER,
    ContainerSpec,
    ElasticPolicy,
    EnvVar,
    ReplicaGroup,
    RestartPolicy,
    Role,
    RunPolicy,
    TrainingJobSpec,
)

TORCHRUN_RESERVED = frozenset(
    {"PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT"}
)
_DIGITS = re.compile(r"^[0-9]+$")

PYTORCH_TYPES: dict[str, Role] = {"Master": "master", "Worker": "worker"}
TF_TYPES: dict[str, Role] = {
    "Chief": "chief",
    "PS": "ps",
    "Worker": "worker",
    "Evaluator": "evaluator",
}


class Collector:
    """Gathers the problems of one document."""

    def __init__(self, document: int) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.document, path, message))


def pytorch_job(wire: PyTorchJobWire, found: Collector) -> TrainingJobSpec | None:
    spec = wire.spec
    base = "spec.pytorchReplicaSpecs"
    groups = _groups(spec.pytorch_replica_specs, PYTORCH_TYPES, base, "pytorch", "OnFailure", found)
    master = groups.get("master")
    if master is not None and master.count != 1:
        found.add(
            f"{base}.{master.replica_type}.replicas", "must be 1: a PyTorchJob has one Master"
        )
    nproc = _nproc(spec.nproc_per_node, "spec.nprocPerNode", found)
    elastic = None
    if spec.elastic_policy is not None:
        policy = spec.elastic_policy
        worker = groups.get("worker")
        if worker is None:
            found.add(f"{base}.Worker", "is required when elasticPolicy is set: add a Worker spec")
        if policy.n_proc_per_node is not None:
            if spec.nproc_per_node is not None:
                found.add(
                    "spec.elasticPolicy.nProcPerNode",
                    "must not be used with spec.nprocPerNode: keep only spec.nprocPerNode",
                )
            nproc = policy.n_proc_per_node
        count = worker.count if worker else 1
        low = policy.min_replicas or policy.max_replicas or count
        high = policy.max_replicas or policy.min_replicas or count
        if low > high:
            found.add(
                "spec.elasticPolicy.minReplicas",
                f"is {low}, above maxReplicas {high}: make minReplicas <= maxReplicas",
            )
        else:
            elastic = ElasticPolicy(
                min_replicas=low,
                max_replicas=high,
                max_restarts=policy.max_restarts,
                rdzv_backend=policy.rdzv_backend,
                rdzv_id=policy.rdzv_id,
            )
    return _job(
        wire.metadata.name, wire.metadata.namespace, wire.metadata.labels, groups, found,
        kind="PyTorchJob", api_version=wire.api_version, framework="pytorch",
        nproc_per_node=nproc, elastic=elastic, run_policy=_run_policy(spec.run_policy),
    )  # fmt: skip


def tf_job(wire: TFJobWire, found: Collector) -> TrainingJobSpec | None:
    spec = wire.spec
    base = "spec.tfReplicaSpecs"
    groups = _groups(spec.tf_replica_specs, TF_TYPES, base, "tensorflow", "Never", found)
    chief = groups.get("chief")
    if chief is not None and chief.count != 1:
        found.add(f"{base}.{chief.replica_type}.replicas", "must be 1: a TFJob has one Chief")
    return _job(
        wire.metadata.name, wire.metadata.namespace, wire.metadata.labels, groups, found,
        kind="TFJob", api_version=wire.api_version, framework="tensorflow",
        success_policy=spec.success_policy, run_policy=_run_policy(spec.run_policy),
    )  # fmt: skip


def train_job(wire: TrainJobWire, found: Collector) -> TrainingJobSpec | None:
    spec = wire.spec
    if spec.runtime_ref.name not in KNOWN_RUNTIMES:
        known = ", ".join(repr(name) for name in KNOWN_RUNTIMES)
        found.add(
            "spec.runtimeRef.name",
            f"unknown runtime {spec.runtime_ref.name!r}: Headrace has the built-in runtime "
            f"{known}; set spec.runtimeRef.name to it",
        )
    trainer = spec.trainer
    path = "spec.trainer"
    for position, variable in enumerate(trainer.env):
        if variable.name in TORCHRUN_RESERVED:
            found.add(
                f"{path}.env[{position}]",
                f"{variable.name} is set by the torch-distributed runtime: remove it "
                "(use numNodes / numProcPerNode)",
            )
    container = ContainerSpec(
        image=trainer.image or RUNTIME_IMAGE,
        command=tuple(trainer.command),
        args=tuple(trainer.args),
        env=_env(trainer.env),
    )
    resources = _resources(trainer.resources_per_node, f"{path}.resourcesPerNode", found)
    group = ReplicaGroup(
        role="node", replica_type="node", count=trainer.num_nodes, container=container,
        resources=resources, restart_policy="Never",
    )  # fmt: skip
    return _job(
        wire.metadata.name, wire.metadata.namespace, wire.metadata.labels, {"node": group},
        found, kind="TrainJob", api_version=wire.api_version, framework="pytorch",
        nproc_per_node=_nproc(trainer.num_proc_per_node, f"{path}.numProcPerNode", found),
        run_policy=RunPolicy(
            suspend=spec.suspend, active_deadline_seconds=spec.active_deadline_seconds
        ),
        runtime=spec.runtime_ref.name,
    )  # fmt: skip


def _job(
    name: str,
    namespace: str,
    labels: dict[str, str],
    groups: Mapping[Role, ReplicaGroup],
    found: Collector,
    **fields: object,
) -> TrainingJobSpec | None:
    if found.problems or not groups:
        return None
    ordered = tuple(groups[role] for role in ROLE_ORDER if role in groups)
    return TrainingJobSpec.model_validate(
        {
            "name": name,
            "namespace": namespace or "default",
            "labels": labels,
            "replicas": ordered,
            **fields,
        }
    )


def _groups(
    specs: Mapping[str, ReplicaSpecWire],
    types: Mapping[str, Role],
    base: str,
    default_container: str,
    default_restart: RestartPolicy,
    found: Collector,
) -> dict[Role, ReplicaGroup]:
    by_lower = {key.lower(): key for key in types}
    groups: dict[Role, ReplicaGroup] = {}
    for key, spec in specs.items():
        path = f"{base}.{key}"
        canonical = by_lower.get(key.lower())
        if canonical is None:
            allowed = ", ".join(types)
            hint = " (a TFJob's coordinator is 'Chief')" if key.lower() == "master" else ""
            found.add(path, f"unknown replica type {key!r}{hint}: use one of {allowed}")
            continue
        role = types[canonical]
        if role in groups:
            found.add(path, f"replica type {canonical} is given twice: keep one")
            continue
        container = _container(spec.template.spec.containers, default_container, path, found)
        if container is None:
            continue
        index, chosen = container
        cpath = f"{path}.template.spec.containers[{index}]"
        groups[role] = ReplicaGroup(
            role=role,
            replica_type=canonical,
            count=spec.replicas,
            container=ContainerSpec(
                image=chosen.image,
                command=tuple(chosen.command),
                args=tuple(chosen.args),
                env=_env(chosen.env),
                working_dir=chosen.working_dir,
            ),
            resources=_resources(chosen.resources, f"{cpath}.resources", found),
            restart_policy=spec.restart_policy or default_restart,
        )
    return groups


def _container(
    containers: list[ContainerWire], default: str, path: str, found: Collector
) -> tuple[int, ContainerWire] | None:
    base = f"{path}.template.spec.containers"
    named = [i for i, c in enumerate(containers) if c.name == default]
    if named:
        index = named[0]
    elif len(containers) == 1:
        index = 0
    else:
        found.add(base, f"has {len(containers)} containers and none is named {default!r}: "
                  f"name the training container {default!r}")  # fmt: skip
        return None
    for other in range(len(containers)):
        if other != index:
            found.add(
                f"{base}[{other}]",
                f"sidecar containers are not supported locally: keep only the {default!r} "
                "container",
            )
    chosen = containers[index]
    if not chosen.command and not chosen.image:
        found.add(f"{base}[{index}]", "has neither command nor image: give it a command")
    return index, chosen


def _env(env: list[EnvVarWire]) -> tuple[EnvVar, ...]:
    return tuple(EnvVar(name=e.name, value=e.value) for e in env)


def _resources(wire: ResourceRequirementsWire, path: str, found: Collector) -> Resources:
    gpus: dict[str, int] = {}
    for part, amounts in (("limits", wire.limits), ("requests", wire.requests)):
        text = amounts.get(GPU_RESOURCE)
        if text is None:
            continue
        if not _DIGITS.match(text):
            found.add(f"{path}.{part}.{GPU_RESOURCE}", f"{text!r} must be a whole number of GPUs")
        else:
            gpus[part] = int(text)
    if len(set(gpus.values())) > 1:
        found.add(
            f"{path}.requests.{GPU_RESOURCE}",
            f"is {gpus['requests']} but the limit is {gpus['limits']}: a GPU request must "
            "equal its limit",
        )
    count = gpus.get("limits", gpus.get("requests", 0))
    cpu_request, cpu_limit = wire.requests.get("cpu"), wire.limits.get("cpu")
    mem_request, mem_limit = wire.requests.get("memory"), wire.limits.get("memory")
    return Resources(
        cpu=cpu_request or cpu_limit,
        memory=mem_request or mem_limit,
        gpu=count,
        cpu_request=cpu_request,
        cpu_limit=cpu_limit,
        memory_request=mem_request,
        memory_limit=mem_limit,
        accelerator_type=GPU_RESOURCE if count else "",
        accelerator_count=count,
    )


def _nproc(value: int | str | None, path: str, found: Collector) -> int | Literal["auto"] | None:
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, int) or _DIGITS.match(value):
        number = int(value)
        if number >= 1:
            return number
    found.add(path, f"{value!r} is not a process count: use a whole number >= 1 or 'auto'")
    return None


def _run_policy(wire: RunPolicyWire) -> RunPolicy:
    return RunPolicy(
        backoff_limit=wire.backoff_limit,
        active_deadline_seconds=wire.active_deadline_seconds,
        clean_pod_policy=wire.clean_pod_policy or "None",
        ttl_seconds_after_finished=wire.ttl_seconds_after_finished,
        suspend=wire.suspend,
    )
