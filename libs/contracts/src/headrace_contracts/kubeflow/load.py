"""Reading Kubeflow YAML text (one or many documents) into :class:`TrainingJobSpec` models.

Every document is checked in full and every problem of every document is collected; one
:class:`ManifestError` then lists them all, each with its document index (0-based) and the
field's path, so a user fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ._convert import Collector, pytorch_job, tf_job, train_job
from ._experiment import experiment
from ._katib import API_VERSION as EXPERIMENT_API_VERSION
from ._katib import ExperimentWire
from ._problems import problems_of
from ._trainjob import TrainJobWire
from ._v1 import PyTorchJobWire, TFJobWire
from .errors import ManifestError, Problem
from .experiment import ExperimentSpec
from .job import TrainingJobSpec

_Spec = TypeVar("_Spec", TrainingJobSpec, ExperimentSpec, TrainingJobSpec | ExperimentSpec)

_Convert = Callable[[Any, Collector], TrainingJobSpec | None]
KINDS: dict[tuple[str, str], tuple[type[BaseModel], _Convert]] = {
    ("kubeflow.org/v1", "PyTorchJob"): (PyTorchJobWire, pytorch_job),
    ("kubeflow.org/v1", "TFJob"): (TFJobWire, tf_job),
    ("trainer.kubeflow.org/v1alpha1", "TrainJob"): (TrainJobWire, train_job),
}
"""``(apiVersion, kind)`` -> (wire model, converter), for every kind Headrace applies."""

_EXPERIMENT = "the Experiment YAML"
_APPLIED = (
    "PyTorchJob and TFJob (kubeflow.org/v1), TrainJob (trainer.kubeflow.org/v1alpha1), "
    "Experiment (kubeflow.org/v1beta1); InferenceService (serving.kserve.io/v1beta1) in a file "
    "of its own"
)
_SUPPORTED = "PyTorchJob and TFJob (kubeflow.org/v1), TrainJob (trainer.kubeflow.org/v1alpha1)"


def load_training_jobs(text: str) -> list[TrainingJobSpec]:
    """Every job of a YAML text (``---``-separated documents; empty ones are skipped).

    Raises :class:`ManifestError` listing every problem when any document is invalid.
    """
    found = _load(text, parse_training_job, "training job", _SUPPORTED)
    return [job for job in found if isinstance(job, TrainingJobSpec)]


def load_manifests(text: str) -> list[TrainingJobSpec | ExperimentSpec]:
    """Every training job and Katib experiment of a YAML text, in order (what ``headrace
    apply -f`` takes); :class:`ManifestError` lists every problem of every document."""
    return _load(text, parse_manifest, "job or experiment", _APPLIED, "the Kubeflow YAML")


def parse_manifest(document: Any, index: int = 0) -> TrainingJobSpec | ExperimentSpec:
    """One parsed YAML document: a Katib Experiment or a training job."""
    if not isinstance(document, Mapping):
        return parse_training_job(document, index)  # says what it is instead
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if (api_version, kind) == (EXPERIMENT_API_VERSION, "Experiment"):
        return parse_experiment(document, index)
    if (str(api_version), str(kind)) not in KINDS:
        where = (
            "kind"
            if api_version in {EXPERIMENT_API_VERSION, *(v for v, _ in KINDS)}
            else ("apiVersion" if kind else "kind")
        )
        raise ManifestError([Problem(index, where, _unknown(api_version, kind, _APPLIED))])
    return parse_training_job(document, index)


def parse_experiment(document: Any, index: int = 0) -> ExperimentSpec:
    """One parsed YAML document (a mapping) -> its Katib experiment; ``index`` names it in
    errors. Raises :class:`ManifestError` listing every problem."""
    if not isinstance(document, Mapping):
        shape = type(document).__name__
        raise ManifestError(
            [Problem(index, "", f"is a {shape}, not a mapping: give an Experiment")], _EXPERIMENT
        )
    try:
        wire = ExperimentWire.model_validate(document)
    except ValidationError as error:
        problems = problems_of(error, index, what="Katib experiments")
        raise ManifestError(problems, _EXPERIMENT) from None
    found = Collector(index)
    spec = experiment(wire, found)
    if found.problems or spec is None:
        raise ManifestError(found.problems, _EXPERIMENT)
    return spec


def _load(
    text: str,
    parse: Callable[[Any, int], _Spec],
    noun: str,
    supported: str,
    subject: str = "the training job YAML",
) -> list[_Spec]:
    documents: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    try:
        for index, document in enumerate(yaml.safe_load_all(text)):
            documents.append((index, document))
    except yaml.YAMLError as error:
        broken = len(documents)
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        problems.append(Problem(broken, "", f"is not valid YAML{where}: {reason}; fix the syntax"))
    jobs: list[tuple[int, _Spec]] = []
    for index, document in documents:
        if document is None:
            continue
        try:
            jobs.append((index, parse(document, index)))
        except ManifestError as error:
            problems.extend(error.problems)
    if problems:
        raise ManifestError(sorted(problems, key=lambda problem: problem.document), subject)
    if not jobs:
        raise ManifestError([Problem(0, "", f"holds no {noun}: give one of {supported}")], subject)
    _check_unique(jobs, subject)
    return [job for _, job in jobs]


def parse_training_job(document: Any, index: int = 0) -> TrainingJobSpec:
    """One parsed YAML document (a mapping) -> its job; ``index`` names it in errors."""
    if not isinstance(document, Mapping):
        shape = type(document).__name__
        raise ManifestError([Problem(index, "", f"is a {shape}, not a mapping: give a job object")])
    api_version, kind = document.get("apiVersion"), document.get("kind")
    entry = KINDS.get((str(api_version), str(kind)))
    if entry is None:
        raise ManifestError(
            [Problem(index, _which(api_version, kind), _unknown(api_version, kind))]
        )
    model, convert = entry
    try:
        wire = model.model_validate(document)
    except ValidationError as error:
        raise ManifestError(problems_of(error, index)) from None
    found = Collector(index)
    job = convert(wire, found)
    if found.problems or job is None:
        raise ManifestError(found.problems)
    return job


def _which(api_version: object, kind: object) -> str:
    if api_version in {version for version, _ in KINDS}:
        return "kind"
    return "apiVersion" if kind else "kind"


def _unknown(api_version: object, kind: object, supported: str = "") -> str:
    supported = supported or _SUPPORTED
    if not api_version or not kind:
        return f"needs apiVersion and kind: Headrace applies {supported}"
    return f"unknown kind {kind!r} of apiVersion {api_version!r}: Headrace applies {supported}"


def _check_unique(
    jobs: Sequence[tuple[int, TrainingJobSpec | ExperimentSpec]], subject: str
) -> None:
    seen: dict[tuple[str, str, str], int] = {}
    problems: list[Problem] = []
    for position, job in jobs:
        noun = "experiment" if isinstance(job, ExperimentSpec) else "job"
        key = (noun, job.namespace, job.name)
        if key in seen:
            problems.append(
                Problem(
                    position,
                    "metadata.name",
                    f"{noun} {job.namespace}/{job.name} is also defined by an earlier document: "
                    "give each job its own name",
                )
            )
        seen.setdefault(key, position)
    if problems:
        raise ManifestError(problems, subject)
