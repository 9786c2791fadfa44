"""The Kubernetes objects of a pipeline step or a training job (pure: no API calls).

``step_manifests(step, settings)`` and ``training_manifests(job, settings)`` return
`Manifests`: a parent ConfigMap (one per run or job), then the objects owned by it, as the
official client's model objects (``V1Job``, ``V1Service``, ``V1ConfigMap``; a gang
scheduler's PodGroup as a dict). ``to_yaml`` prints them as ``kubectl`` reads them. What
maps to what: ``docs/kubernetes.md``.
"""

from headrace_kube.names import dns_label, label_value

from .dump import to_yaml
from .meta import (
    LABEL_ATTEMPT,
    LABEL_JOB,
    LABEL_MANAGED_BY,
    LABEL_REPLICA,
    LABEL_RUN,
    LABEL_STEP,
    MANAGED_BY,
    PENDING_UID,
    Manifests,
)
from .per_index import INDEX_ANNOTATION
from .step import step_manifests
from .training import POD_GROUP_ANNOTATION, POD_GROUP_LABEL, PORTS, training_manifests

__all__ = [
    "INDEX_ANNOTATION",
    "LABEL_ATTEMPT",
    "LABEL_JOB",
    "LABEL_MANAGED_BY",
    "LABEL_REPLICA",
    "LABEL_RUN",
    "LABEL_STEP",
    "MANAGED_BY",
    "PENDING_UID",
    "POD_GROUP_ANNOTATION",
    "POD_GROUP_LABEL",
    "PORTS",
    "Manifests",
    "dns_label",
    "label_value",
    "step_manifests",
    "to_yaml",
    "training_manifests",
]
