"""A gang as the objects to create (pure): the manifests of what it runs, marked with the gang.

A `Gang` for this backend says what it runs in ``source``: a `StepReady` (a pipeline step:
`step_manifests`) or a `TrainingJobSpec` (a training job: `training_manifests`, whose
replicas' environment the manifests compute from the job, not from the gang's
``ReplicaLaunch.env``; the pods' ``TRACEPARENT`` comes from the gang's ``trace_context``).
Every Job and its pods are also marked with the gang, so that a
restarted backend finds them by label and knows what they are:

* label ``headrace.io/gang`` (the gang id as a label value) on the Jobs and pods: the
  selector of the gang's watches;
* annotations ``headrace.io/gang-id`` (the exact id), ``headrace.io/gang-attempt`` and, on
  the Jobs, ``headrace.io/log-keys`` (JSON: replica name -> artifact-store key of its log).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from headrace_contracts import StepReady
from headrace_contracts.kubeflow import TrainingJobSpec

from ...errors import GangInvalid, ManifestUnsupported
from ..base import Gang
from .manifests import Manifests, label_value, step_manifests, training_manifests
from .manifests.meta import LABEL_MANAGED_BY, LABEL_REPLICA, MANAGED_BY
from .settings import KubernetesSettings

__all__ = [
    "ANNOTATION_GANG",
    "ANNOTATION_GANG_ATTEMPT",
    "ANNOTATION_LOG_KEYS",
    "LABEL_GANG",
    "Built",
    "build",
    "gang_selector",
]

LABEL_GANG = "headrace.io/gang"
ANNOTATION_GANG = "headrace.io/gang-id"
ANNOTATION_GANG_ATTEMPT = "headrace.io/gang-attempt"
ANNOTATION_LOG_KEYS = "headrace.io/log-keys"


def gang_selector(gang_id: str) -> str:
    """The label selector of every Job and pod of ``gang_id``."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_GANG}={label_value(gang_id)}"


@dataclass(frozen=True)
class Built:
    """The gang's objects as the API's JSON: ``parent`` first, then ``children`` (the
    owner's uid still to be filled in), in creation order. ``shared_parent``: the parent
    outlives the gang (a pipeline run's, shared by its steps), so it is not deleted with it."""

    namespace: str
    parent: dict[str, Any]
    children: list[dict[str, Any]]
    shared_parent: bool

    def jobs(self) -> list[dict[str, Any]]:
        return [child for child in self.children if child.get("kind") == "Job"]


def build(gang: Gang, settings: KubernetesSettings) -> Built:
    """The objects of ``gang``; `GangInvalid` when it says nothing a pod can run, or what it
    runs cannot be expressed on Kubernetes (every problem named)."""
    source = gang.source
    try:
        if isinstance(source, StepReady):
            manifests: Manifests = step_manifests(
                source, settings, trace_context=gang.trace_context
            )
            shared = True
        elif isinstance(source, TrainingJobSpec):
            manifests = training_manifests(
                source, settings, attempt=gang.attempt, trace_context=gang.trace_context
            )
            shared = False
        else:
            raise GangInvalid(
                f"gang '{gang.id}' does not say what its pods run (its source is "
                f"{type(source).__name__}): the Kubernetes backend builds pods from a pipeline "
                "step (StepReady) or a training job (TrainingJobSpec)"
            )
    except ManifestUnsupported as error:
        raise GangInvalid(str(error)) from error
    objects = [ApiClient().sanitize_for_serialization(obj) for obj in manifests.objects()]
    parent, children = objects[0], objects[1:]
    log_keys = json.dumps({r.name: r.log_key for r in gang.replicas if r.log_key})
    marks = {
        ANNOTATION_GANG: gang.id,
        ANNOTATION_GANG_ATTEMPT: str(gang.attempt),
    }
    for child in children:
        meta = child["metadata"]
        meta.setdefault("labels", {})[LABEL_GANG] = label_value(gang.id)
        if child.get("kind") != "Job":
            continue
        meta.setdefault("annotations", {}).update({**marks, ANNOTATION_LOG_KEYS: log_keys})
        template = child["spec"]["template"].setdefault("metadata", {})
        template.setdefault("labels", {})[LABEL_GANG] = label_value(gang.id)
        template.setdefault("annotations", {}).update(marks)
    return Built(
        namespace=str(parent["metadata"]["namespace"]),
        parent=parent,
        children=children,
        shared_parent=shared,
    )


def role_of(job: dict[str, Any]) -> str:
    """The replica role of a Job's pods: its ``headrace.io/replica`` label, else ``step``."""
    labels = (job.get("metadata") or {}).get("labels") or {}
    return str(labels.get(LABEL_REPLICA) or "step")
