"""Reading Kubeflow YAML text (one or many documents) into :class:`TrainingJobSpec` models.

Every document is checked in full and every problem of every document is collected; one
:class:`ManifestError` then lists them all, each with its document index (0-based) and the
field's path, so a user fixes a file in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ._convert import Collector, pytorch_job, tf_job, train_job
from ._problems import problems_of
from ._trainjob import TrainJobWire
from ._v1 import PyTorchJobWire, TFJobWire
from .errors import ManifestError, Problem
from .job import TrainingJobSpec

_Convert = Callable[[Any, Collector], TrainingJobSpec | None]
KINDS: dict[tuple[str, str], tuple[type[BaseModel], _Convert]] = {
    ("kubeflow.org/v1", "PyTorchJob"): (PyTorchJobWire, pytorch_job),
    ("kubeflow.org/v1", "TFJob"): (TFJobWire, tf_job),
    ("trainer.kubeflow.org/v1alpha1", "TrainJob"): (TrainJobWire, train_job),
}
"""``(apiVersion, kind)`` -> (wire model, converter), for every kind Headrace applies."""

_SUPPORTED = "PyTorchJob and TFJob (kubeflow.org/v1), TrainJob (trainer.kubeflow.org/v1alpha1)"


def load_training_jobs(text: str) -> list[TrainingJobSpec]:
    """Every job of a YAML text (``---``-separated documents; empty ones are skipped).

    Raises :class:`ManifestError` listing every problem when any document is invalid.
    """
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
    jobs: list[tuple[int, TrainingJobSpec]] = []
    for index, document in documents:
        if document is None:
            continue
        try:
            jobs.append((index, parse_training_job(document, index)))
        except ManifestError as error:
            problems.extend(error.problems)
    if problems:
        raise ManifestError(sorted(problems, key=lambda problem: problem.document))
    if not jobs:
        raise ManifestError([Problem(0, "", f"holds no training job: give one of {_SUPPORTED}")])
    _check_unique(jobs)
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


def _unknown(api_version: object, kind: object) -> str:
    if not api_version or not kind:
        return f"needs apiVersion and kind: Headrace applies {_SUPPORTED}"
    return f"unknown kind {kind!r} of apiVersion {api_version!r}: Headrace applies {_SUPPORTED}"


def _check_unique(jobs: list[tuple[int, TrainingJobSpec]]) -> None:
    seen: dict[tuple[str, str], int] = {}
    problems: list[Problem] = []
    for position, job in jobs:
        key = (job.namespace, job.name)
        if key in seen:
            problems.append(
                Problem(
                    position,
                    "metadata.name",
                    f"job {job.namespace}/{job.name} is also defined by an earlier document: "
                    "give each job its own name",
                )
            )
        seen.setdefault(key, position)
    if problems:
        raise ManifestError(problems)
