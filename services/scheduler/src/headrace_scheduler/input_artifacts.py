"""The pipeline's own input artifacts, bound at submission and checked against the platform.

:func:`headrace_pipelines.bind_input_artifacts` checks the URIs' form (pure); here the
scheduler checks, at its edge, that each one can be read where the steps will read it: a
``file://`` path exists on this machine, an ``s3://`` object is in the platform's artifact
store. Each failure is a :class:`SpecError` naming the input and the fix, so the run is
rejected; an unreachable store raises its retryable error and the submit is retried.

A ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` argument is resolved first, by asking
the model registry (:func:`resolve_models`): the run is bound to the version the alias names
at submission (its artifact URI and digest, with the model's name and version in the
artifact's metadata), so an alias moved later does not change a run already started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from headrace_artifacts import ArtifactStore, InvalidArtifactKey
from headrace_contracts import ArtifactRef, ResolvedModel
from headrace_pipelines import Plan, SpecError, artifact_path, bind_input_artifacts, model_uris

ResolveModel = Callable[[str], Awaitable[ResolvedModel]]


async def resolve_models(
    plan: Plan, arguments: dict[str, Any], resolve: ResolveModel
) -> dict[str, ArtifactRef]:
    """Each ``models:/`` argument's version artifact; SpecError when one does not resolve.
    A registry that does not answer raises the bus's retryable error (the submit is retried,
    then rejected with it)."""
    found: dict[str, ArtifactRef] = {}
    for uri in model_uris(plan, arguments):
        answer = await resolve(uri)
        version = answer.version
        if version is None:
            raise SpecError(
                f"{uri!r} does not resolve: {answer.reason or 'no such model version'}",
                task="root",
                field="arguments",
            )
        found[uri] = ArtifactRef(
            uri=version.uri,
            digest=version.digest,
            metadata={
                "model_uri": uri,
                "model_name": version.model_name,
                "model_version": version.version,
            },
        )
    return found


def bind_inputs(
    plan: Plan,
    arguments: dict[str, Any],
    store: ArtifactStore,
    models: dict[str, ArtifactRef] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The pipeline's input artifacts as stored in the run's state; SpecError if one is bad.
    ``models`` are the resolutions of its ``models:/`` arguments (:func:`resolve_models`)."""
    root = store.root_uri
    schemes = ("file", "s3") if root.startswith("s3://") else ("file",)
    bound = bind_input_artifacts(plan, arguments, schemes=schemes, models=models or {})
    for name, refs in bound.items():
        for ref in refs:
            _check(ref, store, field=f"input artifact {name!r}")
    return {k: [r.model_dump(mode="json") for r in v] for k, v in bound.items()}


def _check(ref: ArtifactRef, store: ArtifactStore, *, field: str) -> None:
    local = artifact_path(ref.uri)
    if local is not None:
        if not local.exists():
            raise SpecError(
                f"{ref.uri} does not exist on the platform's machine: check the path, or "
                "copy the file there",
                task="root",
                field=field,
            )
        return
    root = store.root_uri
    try:
        key = store.resolve_key(ref.uri)
    except InvalidArtifactKey:
        raise SpecError(
            f"{ref.uri} lies outside this platform's artifact store ({root}): copy it below "
            f"{root.rstrip('/')}/ and pass that URI",
            task="root",
            field=field,
        ) from None
    if not store.exists(key):
        raise SpecError(
            f"there is nothing at {ref.uri}: upload the artifact there first, or correct the URI",
            task="root",
            field=field,
        )
