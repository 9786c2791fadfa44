"""Kubeflow YAML (training jobs, Katib experiments, KServe InferenceServices), shared by
the CLI and the services.

``load_manifests(text)`` reads jobs and ``kubeflow.org/v1beta1`` ``Experiment`` documents
(:class:`ExperimentSpec`, see ``experiment``); ``render_trial`` makes a trial's job manifest.

``load_training_jobs(text)`` reads one or many YAML documents — ``kubeflow.org/v1``
``PyTorchJob`` and ``TFJob``, ``trainer.kubeflow.org/v1alpha1`` ``TrainJob`` over the
built-in ``torch-distributed`` runtime — into :class:`TrainingJobSpec` models; every field it
does not support is reported with its path in one :class:`ManifestError`.
"""

from ._inference import parse_storage_uri
from ._kserve import API_VERSION as KSERVE_API_VERSION
from ._trainjob import KNOWN_RUNTIMES, TORCH_DISTRIBUTED
from ._wire import NO_OP_FIELDS
from .algorithms import ALGORITHMS, EARLY_STOPPING
from .digest import manifest_digest
from .errors import ManifestError, Problem
from .experiment import (
    DEFAULT_METRICS_FORMAT,
    AlgorithmSpec,
    EarlyStoppingSpec,
    ExperimentSpec,
    MetricsCollectorSpec,
    Objective,
    ObjectiveTerm,
    ParameterSpec,
    TrialParameter,
    TrialTemplate,
    format_value,
)
from .inference import (
    LOGGER_MODES,
    MODEL_FORMATS,
    PROTOCOL_VERSIONS,
    SCALE_METRICS,
    BatcherSpec,
    InferenceServiceSpec,
    LoggerSpec,
    StorageRef,
)
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
from .load import (
    KINDS,
    load_manifests,
    load_training_jobs,
    parse_experiment,
    parse_manifest,
    parse_training_job,
)
from .load_inference import (
    is_inference_service,
    load_inference_services,
    parse_inference_service,
)
from .render import render_trial

__all__ = [
    "ALGORITHMS",
    "DEFAULT_METRICS_FORMAT",
    "EARLY_STOPPING",
    "KINDS",
    "KNOWN_RUNTIMES",
    "KSERVE_API_VERSION",
    "LOGGER_MODES",
    "MODEL_FORMATS",
    "NO_OP_FIELDS",
    "PROTOCOL_VERSIONS",
    "ROLE_ORDER",
    "SCALE_METRICS",
    "TORCH_DISTRIBUTED",
    "AlgorithmSpec",
    "BatcherSpec",
    "CleanPodPolicy",
    "ContainerSpec",
    "EarlyStoppingSpec",
    "ElasticPolicy",
    "EnvVar",
    "ExperimentSpec",
    "Framework",
    "InferenceServiceSpec",
    "JobKind",
    "LoggerSpec",
    "ManifestError",
    "MetricsCollectorSpec",
    "Objective",
    "ObjectiveTerm",
    "ParameterSpec",
    "Problem",
    "ReplicaGroup",
    "RestartPolicy",
    "Role",
    "RunPolicy",
    "StorageRef",
    "TrainingJobSpec",
    "TrialParameter",
    "TrialTemplate",
    "format_value",
    "is_inference_service",
    "load_inference_services",
    "load_manifests",
    "load_training_jobs",
    "manifest_digest",
    "parse_experiment",
    "parse_inference_service",
    "parse_manifest",
    "parse_storage_uri",
    "parse_training_job",
    "render_trial",
]
