"""Labels, the parent object and owner references every Headrace object carries.

One parent per run (``headrace-run-<run>``) or training job (``headrace-job-<job>``): a
ConfigMap created first, which every other object of that run or job names as its owner, so
deleting the parent has Kubernetes' garbage collector delete everything Headrace made for
it. Its ``uid`` exists only once the API server created it: builders take it as
``parent_uid`` (`PENDING_UID` in a dry run, where nothing is created).

Labels (values made valid by `label_value`; the exact ids are also annotations)::

    app.kubernetes.io/managed-by: headrace
    headrace.io/run, headrace.io/step, headrace.io/attempt     (pipeline steps)
    headrace.io/job, headrace.io/replica                       (training jobs)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient, V1ConfigMap, V1ObjectMeta, V1OwnerReference

from headrace_kube.names import dns_label, label_value

__all__ = [
    "ANNOTATION_JOB",
    "ANNOTATION_RUN",
    "ANNOTATION_STEP",
    "LABEL_ATTEMPT",
    "LABEL_JOB",
    "LABEL_MANAGED_BY",
    "LABEL_REPLICA",
    "LABEL_RUN",
    "LABEL_STEP",
    "MANAGED_BY",
    "PENDING_UID",
    "Manifests",
    "job_labels",
    "job_parent",
    "metadata",
    "owner_reference",
    "run_labels",
    "run_parent",
]

MANAGED_BY = "headrace"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_RUN = "headrace.io/run"
LABEL_STEP = "headrace.io/step"
LABEL_ATTEMPT = "headrace.io/attempt"
LABEL_JOB = "headrace.io/job"
LABEL_REPLICA = "headrace.io/replica"
ANNOTATION_RUN = "headrace.io/run-id"
ANNOTATION_STEP = "headrace.io/step-id"
ANNOTATION_JOB = "headrace.io/job-name"
PENDING_UID = "pending-the-parent-configmap-uid"
"""The parent's uid in a dry run: the API server assigns the real one on creation."""


def run_labels(run_id: str) -> dict[str, str]:
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_RUN: label_value(run_id)}


def job_labels(job_name: str) -> dict[str, str]:
    return {LABEL_MANAGED_BY: MANAGED_BY, LABEL_JOB: label_value(job_name)}


def metadata(
    name: str | None,
    namespace: str | None,
    labels: Mapping[str, str],
    *,
    annotations: Mapping[str, str] | None = None,
    owner: V1OwnerReference | None = None,
) -> V1ObjectMeta:
    return V1ObjectMeta(
        name=name,
        namespace=namespace,
        labels=dict(labels),
        annotations=dict(annotations) if annotations else None,
        owner_references=[owner] if owner is not None else None,
    )


def run_parent(run_id: str, namespace: str) -> V1ConfigMap:
    """The parent ConfigMap of everything a pipeline run creates in ``namespace``."""
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=metadata(
            dns_label(f"headrace-run-{run_id}"),
            namespace,
            run_labels(run_id),
            annotations={ANNOTATION_RUN: run_id},
        ),
        data={"run-id": run_id},
    )


def job_parent(job_name: str, namespace: str) -> V1ConfigMap:
    """The parent ConfigMap of everything a training job creates."""
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=metadata(
            dns_label(f"headrace-job-{job_name}"),
            namespace,
            job_labels(job_name),
            annotations={ANNOTATION_JOB: job_name},
        ),
        data={"job-name": job_name},
    )


def owner_reference(parent: V1ConfigMap, uid: str) -> V1OwnerReference:
    """What makes an object a child of ``parent`` (deleted with it)."""
    return V1OwnerReference(
        api_version="v1",
        kind="ConfigMap",
        name=parent.metadata.name,
        uid=uid,
        controller=True,
        block_owner_deletion=True,
    )


@dataclass(frozen=True)
class Manifests:
    """The objects for one step or job: ``parent`` first (created if absent), then
    ``children``, each owned by it. Children are the client's model objects, except
    custom resources (a gang scheduler's PodGroup), which are plain dicts."""

    parent: V1ConfigMap
    children: tuple[Any, ...]

    def objects(self) -> list[Any]:
        return [self.parent, *self.children]

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every object as the JSON the API server takes, in creation order."""
        client = ApiClient()
        return [client.sanitize_for_serialization(obj) for obj in self.objects()]
