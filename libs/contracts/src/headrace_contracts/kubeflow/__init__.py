"""Kubeflow training-job YAML, shared by the CLI and the services.

``load_training_jobs(text)`` reads one or many YAML documents — ``kubeflow.org/v1``
``PyTorchJob`` and ``TFJob``, ``trainer.kubeflow.org/v1alpha1`` ``TrainJob`` over the
built-in ``torch-distributed`` runtime — into :class:`TrainingJobSpec` models; every field it
does not support is reported with its path in one :class:`ManifestError`.
"""

from ._trainjob import KNOWN_RUNTIMES, TORCH_DISTRIBUTED
from ._wire import NO_OP_FIELDS
from .digest import manifest_digest
from .errors import ManifestError, Problem
from .job import (
    ROLE_ORDER,
    CleanPodPolicy,
    ContainerSpec,
    ElasticPolicy,
    EnvVar,
    Framework,
    JobKind,
    ReplicaGroup,
    RestartPolicy,
    Role,
    RunPolicy,
    TrainingJobSpec,
)
from .load import KINDS, load_training_jobs, parse_training_job

__all__ = [
    "KINDS",
    "KNOWN_RUNTIMES",
    "NO_OP_FIELDS",
    "ROLE_ORDER",
    "TORCH_DISTRIBUTED",
    "CleanPodPolicy",
    "ContainerSpec",
    "ElasticPolicy",
    "EnvVar",
    "Framework",
    "JobKind",
    "ManifestError",
    "Problem",
    "ReplicaGroup",
    "RestartPolicy",
    "Role",
    "RunPolicy",
    "TrainingJobSpec",
    "load_training_jobs",
    "manifest_digest",
    "parse_training_job",
]
