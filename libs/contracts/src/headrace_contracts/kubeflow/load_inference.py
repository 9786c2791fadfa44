"""Reading KServe ``InferenceService`` YAML into :class:`InferenceServiceSpec` models; every
problem of every document is listed in one :class:`ManifestError`, with its path and fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from ._convert import Collector
from ._inference import inference_service
from ._kserve import API_VERSION, KIND, InferenceServiceWire
from ._problems import problems_of
from .errors import ManifestError, Problem
from .inference import InferenceServiceSpec

__all__ = ["is_inference_service", "load_inference_services", "parse_inference_service"]

_SUBJECT = "the InferenceService YAML"


def is_inference_service(document: Any) -> bool:
    """Whether a parsed YAML document says it is a KServe InferenceService (of any version)."""
    return isinstance(document, Mapping) and document.get("kind") == KIND


def parse_inference_service(document: Any, index: int = 0) -> InferenceServiceSpec:
    """One parsed YAML document -> its spec; ``index`` names it in errors."""
    if not isinstance(document, Mapping):
        shape = type(document).__name__
        raise ManifestError(
            [Problem(index, "", f"is a {shape}, not a mapping: give an InferenceService")],
            _SUBJECT,
        )
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if (api_version, kind) != (API_VERSION, KIND):
        where = "apiVersion" if kind == KIND else "kind"
        raise ManifestError(
            [
                Problem(
                    index,
                    where,
                    f"{kind or 'no kind'} ({api_version or 'no apiVersion'}) is not an "
                    f"InferenceService: give apiVersion {API_VERSION} and kind {KIND}",
                )
            ],
            _SUBJECT,
        )
    try:
        wire = InferenceServiceWire.model_validate(document)
    except ValidationError as error:
        raise ManifestError(
            problems_of(error, index, what="inference services"), _SUBJECT
        ) from None
    found = Collector(index)
    spec = inference_service(wire, found)
    if found.problems or spec is None:
        raise ManifestError(found.problems, _SUBJECT)
    return spec


def load_inference_services(text: str) -> list[InferenceServiceSpec]:
    """Every InferenceService of a YAML text (``---``-separated; empty documents skipped)."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error)
        raise ManifestError(
            [Problem(0, "", f"is not valid YAML{where}: {reason}; fix the syntax")], _SUBJECT
        ) from None
    specs: list[InferenceServiceSpec] = []
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for index, document in enumerate(documents):
        if document is None:
            continue
        try:
            spec = parse_inference_service(document, index)
        except ManifestError as error:
            problems.extend(error.problems)
            continue
        if (spec.namespace, spec.name) in seen:
            problems.append(
                Problem(
                    index,
                    "metadata.name",
                    f"InferenceService {spec.key} is also defined by an earlier document: "
                    "give each its own name",
                )
            )
        seen.add((spec.namespace, spec.name))
        specs.append(spec)
    if problems:
        raise ManifestError(problems, _SUBJECT)
    if not specs:
        raise ManifestError([Problem(0, "", "holds no InferenceService")], _SUBJECT)
    return specs
