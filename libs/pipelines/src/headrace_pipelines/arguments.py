"""Pipeline arguments checked against the root's input definitions, defaults filled in.

Parameters are typed exactly (:func:`bind_arguments`). Input artifacts of the pipeline
itself (``def p(data: dsl.Input[dsl.Dataset])``, which kfp compiles into
``root.inputDefinitions.artifacts``) are bound from a URI given as the argument's value
(:func:`bind_input_artifacts`): ``file:///abs/path`` or ``s3://bucket/key``, as an
:class:`ArtifactRef` carrying the input's schema title and version. A ``models:/NAME@ALIAS``
or ``models:/NAME/VERSION`` URI names a registered model version: :func:`model_uris` lists
them, the scheduler resolves each through the model registry, and binding takes the
version's artifact (its URI, digest, model name and version) from those resolutions.

Pure logic: whether a ``file://`` path exists or an ``s3://`` object is in the platform's
store is checked at the edges (the client, the scheduler).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from headrace_contracts import ArtifactRef

from .errors import SpecError
from .model_refs import ModelRefError, is_model_uri, parse_model_uri
from .plan import Plan
from .types import coerce, from_spec

ARTIFACT_SCHEMES = ("file", "s3")


def bind_arguments(plan: Plan, arguments: dict[str, Any]) -> dict[str, Any]:
    """Every root input parameter's value, typed exactly; raises :class:`SpecError`.

    Arguments naming an input artifact are left to :func:`bind_input_artifacts`.
    """
    declared = plan.parameter_inputs("root")
    artifacts = plan.artifact_inputs("root")
    unknown = sorted(set(arguments) - set(declared) - set(artifacts))
    if unknown:
        inputs = [*sorted(declared), *(f"{a} (artifact)" for a in sorted(artifacts))]
        raise SpecError(
            f"pipeline {plan.name!r} has no parameter {unknown[0]!r} "
            f"(its parameters: {', '.join(inputs) or 'none'})",
            task="root",
            field=f"arguments[{unknown[0]!r}]",
        )
    bound: dict[str, Any] = {}
    for name, definition in declared.items():
        ptype = definition.get("parameterType", "")
        field = f"parameter {name!r}"
        if name in arguments:
            bound[name] = coerce(arguments[name], ptype, task="root", field=field)
        elif "defaultValue" in definition:
            bound[name] = coerce(
                from_spec(definition["defaultValue"]), ptype, task="root", field=field
            )
        elif not definition.get("isOptional"):
            raise SpecError(
                f"is required and has no default: pass it (CLI: -p {name}=VALUE)",
                task="root",
                field=field,
            )
    return bound


def missing_parameters(plan: Plan, arguments: dict[str, Any]) -> list[str]:
    """The pipeline's required parameters (no default, not optional) not in ``arguments``."""
    return sorted(
        name
        for name, definition in plan.parameter_inputs("root").items()
        if name not in arguments
        and "defaultValue" not in definition
        and not definition.get("isOptional")
    )


def model_uris(plan: Plan, arguments: dict[str, Any]) -> list[str]:
    """The ``models:/`` URIs given for the pipeline's input artifacts, each well-formed
    (:class:`SpecError` naming the input otherwise), in order, without repeats."""
    found: list[str] = []
    for name, definition in plan.artifact_inputs("root").items():
        value = arguments.get(name)
        values = value if isinstance(value, list) and definition.get("isArtifactList") else [value]
        for uri in values:
            if isinstance(uri, str) and is_model_uri(uri):
                _check_model_uri(uri, field=f"input artifact {name!r}")
                if uri not in found:
                    found.append(uri)
    return found


def bind_input_artifacts(
    plan: Plan,
    arguments: dict[str, Any],
    *,
    schemes: Collection[str] = ARTIFACT_SCHEMES,
    models: Mapping[str, ArtifactRef] | None = None,
) -> dict[str, list[ArtifactRef]]:
    """The pipeline's input artifacts bound from their URIs in ``arguments``.

    ``schemes`` are the URI schemes the platform's artifact store can serve. ``models`` maps
    each ``models:/`` URI to the registered version's artifact; without it (the client's
    check) a well-formed ``models:/`` URI is bound as it is, for the scheduler to resolve.
    Raises :class:`SpecError` naming the input and the fix for a missing or malformed URI.
    """
    bound: dict[str, list[ArtifactRef]] = {}
    for name, definition in plan.artifact_inputs("root").items():
        field = f"input artifact {name!r}"
        if name not in arguments:
            if definition.get("isOptional"):
                continue
            raise SpecError(
                f"is required: pass its URI (CLI: -p {name}=file:///path/to/it or "
                f"-p {name}=s3://bucket/key)",
                task="root",
                field=field,
            )
        value = arguments[name]
        values = value if isinstance(value, list) and definition.get("isArtifactList") else [value]
        schema = definition.get("artifactType") or {}
        typed = {
            "name": name,
            "schema_title": schema.get("schemaTitle", "system.Artifact"),
            "schema_version": schema.get("schemaVersion", "0.0.1"),
        }
        refs: list[ArtifactRef] = []
        for uri in values:
            if isinstance(uri, str) and is_model_uri(uri):
                refs.append(_model_ref(uri, models, typed, field=field))
            else:
                refs.append(
                    ArtifactRef(uri=check_artifact_uri(uri, schemes=schemes, field=field), **typed)
                )
        bound[name] = refs
    return bound


def _model_ref(
    uri: str, models: Mapping[str, ArtifactRef] | None, typed: dict[str, Any], *, field: str
) -> ArtifactRef:
    _check_model_uri(uri, field=field)
    if models is None:
        return ArtifactRef(uri=uri, **typed)
    resolved = models.get(uri)
    if resolved is None:
        raise SpecError(
            f"{uri!r} was not resolved through the model registry: check it with "
            f"`headrace model resolve {uri}`",
            task="root",
            field=field,
        )
    return resolved.model_copy(update=typed)


def _check_model_uri(uri: str, *, field: str) -> None:
    try:
        parse_model_uri(uri)
    except ModelRefError as exc:
        raise SpecError(str(exc), task="root", field=field) from None


def check_artifact_uri(uri: Any, *, schemes: Collection[str], field: str) -> str:
    """``uri`` when it is a well-formed artifact URI of one of ``schemes``; else SpecError."""
    if not isinstance(uri, str) or not uri.strip():
        raise SpecError(
            f"expects the artifact's URI as text (file:///path or s3://bucket/key), got {uri!r}",
            task="root",
            field=field,
        )
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in uri:
        raise SpecError(
            f"{uri!r} is not a URI: pass file:///absolute/path/to/it or s3://bucket/key",
            task="root",
            field=field,
        )
    if scheme not in schemes:
        supported = ", ".join(f"{s}://" for s in schemes)
        raise SpecError(
            f"the scheme of {uri!r} is not one this platform's artifact store serves "
            f"(it serves {supported}): copy the artifact there and pass that URI",
            task="root",
            field=field,
        )
    if scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path):
        host = f"; {parts.netloc!r} was read as a host name" if parts.netloc else ""
        raise SpecError(
            f"{uri!r} is not a local file URI: write file:///absolute/path (three slashes{host})",
            task="root",
            field=field,
        )
    if scheme == "s3" and (not parts.netloc or not parts.path.strip("/")):
        raise SpecError(
            f"{uri!r} names no object: write s3://bucket/key",
            task="root",
            field=field,
        )
    return uri


def artifact_path(uri: str) -> Path | None:
    """The local path a ``file://`` URI names; None for any other URI."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parts.path))
