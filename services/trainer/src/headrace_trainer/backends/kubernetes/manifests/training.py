"""A training job's attempt as Kubernetes objects: a headless Service, one Indexed Job per
replica group and, with a gang scheduler, a PodGroup of all replicas.

Replica ``i`` of group ``<job>-<role>`` is the pod with hostname ``<job>-<role>-<i>`` in
subdomain ``<job>`` (the headless Service, which publishes not-ready addresses so replicas
find each other while starting): it resolves as ``<job>-<role>-<i>.<job>`` inside the
namespace. Each replica's environment is `distributed_env` with those hostnames and the
framework's port (PyTorch 23456, TensorFlow 2222, as Kubeflow's operators use);
``MASTER_ADDR`` is the master's hostname. Pods never restart (``restartPolicy: Never``,
``backoffLimit: 0``): Headrace's policy restarts the whole gang as a new attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes.client import (
    ApiClient,
    V1Container,
    V1ContainerPort,
    V1EnvVar,
    V1Job,
    V1JobSpec,
    V1PodSpec,
    V1PodTemplateSpec,
    V1Service,
    V1ServicePort,
    V1ServiceSpec,
)

from headrace_contracts.kubeflow import ReplicaGroup, TrainingJobSpec
from headrace_kube.names import LABEL_MAX, dns_label

from ....errors import ManifestUnsupported
from ....jobs.distributed import Endpoint, distributed_env
from ..settings import KubernetesSettings
from .meta import (
    ANNOTATION_JOB,
    LABEL_ATTEMPT,
    LABEL_REPLICA,
    PENDING_UID,
    Manifests,
    job_labels,
    job_parent,
    metadata,
    owner_reference,
)
from .per_index import split_env, wrap_command
from .reader import Problems
from .resources import requirements
from .tracing import trace_env

__all__ = ["POD_GROUP_ANNOTATION", "POD_GROUP_LABEL", "PORTS", "training_manifests"]

PORTS = {"pytorch": ("pytorchjob-port", 23456), "tensorflow": ("tfjob-port", 2222)}
POD_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"
POD_GROUP_ANNOTATION = "scheduling.k8s.io/group-name"
_POD_GROUP_API = {
    "scheduler-plugins": "scheduling.x-k8s.io/v1alpha1",
    "volcano": "scheduling.volcano.sh/v1beta1",
}


def training_manifests(
    job: TrainingJobSpec,
    settings: KubernetesSettings,
    *,
    attempt: int = 1,
    parent_uid: str = PENDING_UID,
    trace_context: Mapping[str, str] | None = None,
) -> Manifests:
    """The job's parent ConfigMap, then its Service, PodGroup (when configured) and Jobs.
    ``attempt`` (the whole-gang restart count, from 1) labels the Jobs and their pods; the
    Jobs keep their names, so a previous attempt's are deleted before the next is created.
    ``trace_context``: the W3C headers kept with the job (its submission's), which every
    replica's pod continues (its ``TRACEPARENT``, see `trace_env`).

    Raises `ManifestUnsupported` listing every replica group that cannot run on Kubernetes
    (no image; an index-dependent environment with no command to wrap; bad resources)."""
    problems = Problems()
    where = settings.namespace_for(job.namespace)
    base = job.name if not settings.namespace else f"{job.namespace}-{job.name}"
    service = dns_label(base, letter_first=True)
    names = {group.role: _job_name(base, group) for group in job.replicas}
    port_name, port = PORTS[job.framework]
    endpoints = {
        group.role: [
            Endpoint(f"{names[group.role]}-{i}.{service}", port) for i in range(group.count)
        ]
        for group in job.replicas
    }
    parent = job_parent(job.name, where)
    owner = owner_reference(parent, parent_uid)
    labels = job_labels(job.name)
    annotations = {ANNOTATION_JOB: job.name}
    gang = _gang(settings, base)
    traced = trace_env(trace_context, settings)
    jobs = [
        _group_job(
            job, group, names[group.role], service, endpoints, settings, gang, traced, problems
        )
        for group in job.replicas
    ]
    if problems.found:
        raise ManifestUnsupported(f"training job {job.namespace}/{job.name}", problems.found)
    children: list[Any] = [
        V1Service(
            api_version="v1",
            kind="Service",
            metadata=metadata(service, where, labels, annotations=annotations, owner=owner),
            spec=V1ServiceSpec(
                cluster_ip="None",
                selector=labels,
                publish_not_ready_addresses=True,
                ports=[V1ServicePort(name=port_name, port=port, target_port=port)],
            ),
        )
    ]
    if settings.gang_scheduler:
        children.append(
            {
                "apiVersion": _POD_GROUP_API[settings.gang_scheduler],
                "kind": "PodGroup",
                "metadata": ApiClient().sanitize_for_serialization(
                    metadata(gang[1], where, labels, annotations=annotations, owner=owner)
                ),
                "spec": {"minMember": job.total_replicas},
            }
        )
    for built in jobs:
        built.metadata.labels[LABEL_ATTEMPT] = str(attempt)
        built.spec.template.metadata.labels[LABEL_ATTEMPT] = str(attempt)
        built.metadata = metadata(
            built.metadata.name,
            where,
            built.metadata.labels,
            annotations=annotations,
            owner=owner,
        )
        children.append(built)
    return Manifests(parent=parent, children=tuple(children))


def _job_name(base: str, group: ReplicaGroup) -> str:
    """``<job>-<role>``, short enough that ``<name>-<last index>`` is a hostname."""
    return dns_label(f"{base}-{group.role}", max_length=LABEL_MAX - 1 - len(str(group.count - 1)))


def _gang(settings: KubernetesSettings, base: str) -> tuple[dict[str, str], str]:
    """The pod labels and annotations that name the job's PodGroup, and its name."""
    name = dns_label(base)
    if settings.gang_scheduler == "scheduler-plugins":
        return {POD_GROUP_LABEL: name}, name
    if settings.gang_scheduler == "volcano":
        return {POD_GROUP_ANNOTATION: name}, name
    return {}, name


def _group_job(
    job: TrainingJobSpec,
    group: ReplicaGroup,
    name: str,
    service: str,
    endpoints: dict[Any, list[Endpoint]],
    settings: KubernetesSettings,
    gang: tuple[dict[str, str], str],
    traced: list[V1EnvVar],
    problems: Problems,
) -> V1Job:
    path = f"replicas.{group.replica_type}"
    container = group.container
    if not container.image:
        problems.add(
            f"{path}.image",
            f"replica type {group.replica_type} has no image: give its container an image "
            "(Kubernetes runs every replica in one)",
        )
    per_index = [distributed_env(job, group.role, i, endpoints) for i in range(group.count)]
    split = split_env(per_index)
    distributed = (
        {variable.name for variable in split.env}
        | set(split.by_index[0] if split.by_index else ())
        | {variable.name for variable in traced}
    )
    user_env = [
        V1EnvVar(name=e.name, value=e.value) for e in container.env if e.name not in distributed
    ]
    command: list[str] | None = list(container.command) or None
    args: list[str] | None = list(container.args) or None
    if split.by_index:
        if not container.command:
            problems.add(
                f"{path}.command",
                f"replica type {group.replica_type}'s environment differs by index "
                f"({', '.join(sorted(split.by_index[0]))}), which a wrapper sets before it "
                "runs the command: give its container a command (an image entrypoint "
                "cannot be wrapped)",
            )
        command, args = wrap_command([*container.command, *container.args], split.by_index), None
    port_name, port = PORTS[job.framework]
    pod_labels = {**job_labels(job.name), LABEL_REPLICA: group.role}
    annotations: dict[str, str] = {}
    if settings.gang_scheduler == "scheduler-plugins":
        pod_labels.update(gang[0])
    elif settings.gang_scheduler:
        annotations.update(gang[0])
    main = V1Container(
        name="node" if job.kind == "TrainJob" else job.framework,
        image=container.image or "-",
        command=command,
        args=args,
        working_dir=container.working_dir or None,
        env=[*user_env, *split.env, *traced],
        ports=[V1ContainerPort(name=port_name, container_port=port)],
        resources=requirements(group.resources, f"{path}.resources", problems),
    )
    template = V1PodTemplateSpec(
        metadata=metadata(None, None, pod_labels, annotations=annotations or None),
        spec=V1PodSpec(
            restart_policy="Never",
            subdomain=service,
            service_account_name=settings.service_account or None,
            scheduler_name=settings.pod_scheduler or None,
            containers=[main],
        ),
    )
    return V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=metadata(name, None, {**job_labels(job.name), LABEL_REPLICA: group.role}),
        spec=V1JobSpec(
            completions=group.count,
            parallelism=group.count,
            completion_mode="Indexed",
            backoff_limit=0,
            active_deadline_seconds=job.run_policy.active_deadline_seconds,
            template=template,
        ),
    )
