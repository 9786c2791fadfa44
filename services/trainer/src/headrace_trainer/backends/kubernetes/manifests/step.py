"""A pipeline step's attempt as Kubernetes objects: its StepReady in a ConfigMap and a
single-pod ``batch/v1`` Job that runs ``headrace-executor`` on it in the component's image.

The pod runs what a local step runs (``headrace-executor STEP.json --out OUTCOME.json``):
the executor fetches the inputs, runs the component's command in this same container, and
uploads outputs and log to the artifact store named by ``HEADRACE_ARTIFACTS``. The
StepReady it reads says ``allow_host_containers`` (the container *is* the component's
image). With ``executor_image`` set, an init container copies the executor's install into
the pod first (see `KubernetesSettings`). ``backoffLimit`` is 0: the scheduler's retry
policy decides about another attempt, which is a new Job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from kubernetes.client import (
    V1ConfigMap,
    V1ConfigMapVolumeSource,
    V1Container,
    V1EmptyDirVolumeSource,
    V1EnvFromSource,
    V1EnvVar,
    V1Job,
    V1JobSpec,
    V1PodSpec,
    V1PodTemplateSpec,
    V1SecretEnvSource,
    V1Volume,
    V1VolumeMount,
)

from headrace_contracts import StepReady
from headrace_kube.names import dns_label, label_value

from ....errors import ManifestUnsupported
from ....executor.logs import outcome_key
from ..settings import KubernetesSettings
from .meta import (
    ANNOTATION_RUN,
    ANNOTATION_STEP,
    LABEL_ATTEMPT,
    LABEL_STEP,
    PENDING_UID,
    Manifests,
    metadata,
    owner_reference,
    run_labels,
    run_parent,
)
from .platform import pod_settings
from .reader import Problems
from .resources import requirements
from .tracing import trace_env

__all__ = ["CONTAINER", "OUTCOME", "STEP_FILE", "WORKDIR", "step_manifests"]

CONTAINER = "main"
STEP_FILE = "/headrace/step/step.json"
WORKDIR = "/headrace/work"
OUTCOME = f"{WORKDIR}/outcome.json"
_INSTALL = "/headrace/install"


def step_manifests(
    step: StepReady,
    settings: KubernetesSettings,
    *,
    namespace: str = "default",
    parent_uid: str = PENDING_UID,
    trace_context: Mapping[str, str] | None = None,
) -> Manifests:
    """The run's parent ConfigMap, then the step's ConfigMap and Job (owned by the parent).
    ``trace_context``: the W3C headers of the step's launch, which the pod's executor
    continues (its ``TRACEPARENT``, see `trace_env`).

    Raises `ManifestUnsupported` listing every platform setting, resource or executor field
    that cannot be expressed, each with its path."""
    problems = Problems()
    where = settings.namespace_for(namespace)
    container = step.executor.get("container", step.executor)
    image = container.get("image") if isinstance(container, dict) else None
    if not image:
        problems.add("executor.container.image", "is required on Kubernetes: give the image")
    pod = pod_settings(step.platform, step.inputs.parameters, problems)
    resources = requirements(step.resources, "resources", problems)
    if problems.found:
        raise ManifestUnsupported(f"step '{step.task_name}'", problems.found)

    parent = run_parent(step.run_id, where)
    owner = owner_reference(parent, parent_uid)
    name = dns_label(f"{step.run_id}-{step.step_id}-{step.attempt}")
    labels = {
        **run_labels(step.run_id),
        LABEL_STEP: label_value(step.step_id),
        LABEL_ATTEMPT: str(step.attempt),
    }
    annotations = {ANNOTATION_RUN: step.run_id, ANNOTATION_STEP: step.step_id}
    ready = step.model_copy(update={"allow_host_containers": True})
    config = V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=metadata(name, where, labels, annotations=annotations, owner=owner),
        data={"step.json": ready.model_dump_json()},
    )

    volumes = [
        V1Volume(name="headrace-step", config_map=V1ConfigMapVolumeSource(name=name)),
        V1Volume(name="headrace-work", empty_dir=V1EmptyDirVolumeSource()),
        *pod.volumes,
    ]
    mounts = [
        V1VolumeMount(name="headrace-step", mount_path=STEP_FILE.rsplit("/", 1)[0], read_only=True),
        V1VolumeMount(name="headrace-work", mount_path=WORKDIR),
        *pod.mounts,
    ]
    init: list[V1Container] = []
    executor = "headrace-executor"
    if settings.executor_image:
        volumes.append(V1Volume(name="headrace-executor", empty_dir=V1EmptyDirVolumeSource()))
        mounts.append(V1VolumeMount(name="headrace-executor", mount_path=settings.executor_path))
        executor = f"{settings.executor_path}/bin/headrace-executor"
        init.append(
            V1Container(
                name="headrace-executor",
                image=settings.executor_image,
                command=["cp", "-a", f"{settings.executor_path}/.", f"{_INSTALL}/"],
                volume_mounts=[V1VolumeMount(name="headrace-executor", mount_path=_INSTALL)],
            )
        )
    env = [V1EnvVar(name="PYTHONUNBUFFERED", value="1")]
    if settings.artifacts:
        env.append(V1EnvVar(name="HEADRACE_ARTIFACTS", value=settings.artifacts))
    traced = trace_env(trace_context, settings)
    env += traced
    taken = {variable.name for variable in traced}
    main = V1Container(
        name=CONTAINER,
        image=image,
        image_pull_policy=pod.image_pull_policy,
        command=[
            executor,
            STEP_FILE,
            "--out",
            OUTCOME,
            "--workdir",
            f"{WORKDIR}/step",
            "--outcome-key",
            outcome_key(step.run_id, step.step_id, step.attempt),
            "--echo-log",
        ],
        env=[*env, *(variable for variable in pod.env if variable.name not in taken)],
        env_from=(
            [V1EnvFromSource(secret_ref=V1SecretEnvSource(name=settings.env_secret))]
            if settings.env_secret
            else None
        ),
        resources=resources,
        volume_mounts=mounts,
        security_context=pod.security_context,
    )
    deadline = pod.active_deadline_seconds
    if deadline is None and step.timeout_seconds:
        deadline = max(1, math.ceil(step.timeout_seconds))
    template = V1PodTemplateSpec(
        metadata=metadata(
            None,
            None,
            {**pod.labels, **labels},
            annotations={**pod.annotations, **annotations},
        ),
        spec=V1PodSpec(
            restart_policy="Never",
            service_account_name=settings.service_account or None,
            scheduler_name=settings.scheduler_name or None,
            node_selector=pod.node_selector or None,
            tolerations=pod.tolerations or None,
            affinity=pod.affinity,
            image_pull_secrets=pod.image_pull_secrets or None,
            init_containers=init or None,
            containers=[main],
            volumes=volumes,
        ),
    )
    job = V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=metadata(name, where, labels, annotations=annotations, owner=owner),
        spec=V1JobSpec(
            backoff_limit=0,
            completions=1,
            parallelism=1,
            active_deadline_seconds=deadline,
            template=template,
        ),
    )
    return Manifests(parent=parent, children=(config, job))
