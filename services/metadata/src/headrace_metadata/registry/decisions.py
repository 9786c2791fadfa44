"""What the registry decides, without I/O: which registration a step's artifact asks for,
whether a registration is well formed, and whether a promotion may move its alias."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headrace_contracts import ArtifactWritten, RegisterModel
from headrace_pipelines.model_conditions import (
    RequirementError,
    compile_requirement,
    requirement_holds,
)
from headrace_pipelines.model_refs import (
    ModelRefError,
    check_alias,
    check_model_name,
    check_namespace,
)

__all__ = [
    "KEY_DESCRIPTION",
    "KEY_FRAMEWORK",
    "KEY_LABELS",
    "KEY_NAMESPACE",
    "KEY_REGISTER",
    "KEY_TAGS",
    "Promote",
    "Refuse",
    "VersionFacts",
    "decide_promotion",
    "registration_fault",
    "registration_from_artifact",
]

KEY_REGISTER = "headrace.register_model"
KEY_NAMESPACE = "headrace.model_namespace"
KEY_DESCRIPTION = "headrace.model_description"
KEY_TAGS = "headrace.model_tags"
KEY_FRAMEWORK = "headrace.model_framework"
KEY_LABELS = "headrace.model_labels"
_PREFIX = "headrace."


def registration_from_artifact(event: ArtifactWritten) -> RegisterModel | None:
    """The ``RegisterModel`` a step asks for by setting ``headrace.register_model`` in its
    output artifact's metadata; ``None`` when it does not. The artifact's other metadata
    (keys not starting with ``headrace.``) become the version's custom properties."""
    meta = event.artifact.metadata
    if KEY_REGISTER not in meta:
        return None
    tags = meta.get(KEY_TAGS) or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    labels = meta.get(KEY_LABELS) or {}
    return RegisterModel(
        model_name=str(meta[KEY_REGISTER]),
        uri=event.artifact.uri,
        digest=event.artifact.digest,
        framework=str(meta.get(KEY_FRAMEWORK) or ""),
        run_id=event.run_id,
        step_id=event.step_id,
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        metadata={k: v for k, v in meta.items() if not k.startswith(_PREFIX)},
        namespace=str(meta.get(KEY_NAMESPACE) or "default"),
        description=str(meta.get(KEY_DESCRIPTION) or ""),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
    )


def registration_fault(command: RegisterModel) -> str:
    """Why ``command`` cannot be recorded, or ``''``."""
    try:
        check_model_name(command.model_name)
        check_namespace(command.namespace)
    except ModelRefError as exc:
        return str(exc)
    if not command.uri.strip():
        return (
            f"model {command.model_name!r}: the artifact URI is empty: give the model "
            "artifact's URI in the store (file://... or s3://...)"
        )
    if command.uri.startswith("models:/"):
        return (
            f"model {command.model_name!r}: {command.uri!r} is a registry URI, not an artifact: "
            "register the artifact's own URI (resolve it first)"
        )
    return ""


@dataclass(frozen=True)
class VersionFacts:
    """What a promotion condition and the decision read of one version."""

    version: int
    state: str
    metrics: Mapping[str, float]
    properties: Mapping[str, Any]
    labels: Mapping[str, str]
    tags: Sequence[str]
    framework: str = ""


@dataclass(frozen=True)
class Promote:
    """Move the alias to ``version`` (``previous`` is where it pointed, if anywhere)."""

    version: int
    previous: int | None


@dataclass(frozen=True)
class Refuse:
    reason: str


def decide_promotion(
    *,
    model: str,
    namespace: str,
    alias: str,
    version: int,
    require: str,
    found_model: bool,
    facts: VersionFacts | None,
    known_versions: Sequence[int],
    current: int | None,
) -> Promote | Refuse:
    """Whether ``alias`` of ``model`` may point at ``version``; the first fault wins."""
    try:
        check_model_name(model)
        check_namespace(namespace)
        check_alias(alias)
    except ModelRefError as exc:
        return Refuse(str(exc))
    requirement = None
    if require:
        try:
            requirement = compile_requirement(require)
        except RequirementError as exc:
            return Refuse(f"invalid condition: {exc}")
    if not found_model:
        return Refuse(
            f"no model {model!r} is registered in namespace {namespace!r}: register a version "
            "first (list them with `headrace model list`)"
        )
    if facts is None:
        return Refuse(
            f"model {model!r} has no version {version} (its versions: "
            f"{_numbers(known_versions)}): see `headrace model versions {model}`"
        )
    if facts.state != "LIVE":
        return Refuse(
            f"version {version} of model {model!r} is {facts.state}: promote a LIVE version"
        )
    if requirement is not None:
        try:
            holds = requirement_holds(
                requirement,
                metrics=facts.metrics,
                properties=facts.properties,
                labels=facts.labels,
                tags=facts.tags,
                version=facts.version,
                model=model,
                framework=facts.framework,
            )
        except RequirementError as exc:
            return Refuse(
                f"condition {require!r} could not be evaluated for version {version} of "
                f"{model!r}: {exc} (its metrics: {_metrics(facts.metrics)}; properties: "
                f"{', '.join(sorted(facts.properties)) or 'none'})"
            )
        if not holds:
            return Refuse(
                f"version {version} of {model!r} does not meet {require!r} "
                f"(its metrics: {_metrics(facts.metrics)})"
            )
    return Promote(version=version, previous=current)


def _numbers(versions: Sequence[int]) -> str:
    return ", ".join(str(v) for v in sorted(versions)) or "none"


def _metrics(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in sorted(metrics.items())) or "none"
