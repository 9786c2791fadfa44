"""The pipeline's own input artifacts, bound at submission and checked against the platform.

:func:`headrace_pipelines.bind_input_artifacts` checks the URIs' form (pure); here the
scheduler checks, at its edge, that each one can be read where the steps will read it: a
``file://`` path exists on this machine, an ``s3://`` object is in the platform's artifact
store. Each failure is a :class:`SpecError` naming the input and the fix, so the run is
rejected; an unreachable store raises its retryable error and the submit is retried.
"""

from __future__ import annotations

from typing import Any

from headrace_artifacts import ArtifactStore, InvalidArtifactKey
from headrace_contracts import ArtifactRef
from headrace_pipelines import Plan, SpecError, artifact_path, bind_input_artifacts


def bind_inputs(
    plan: Plan, arguments: dict[str, Any], store: ArtifactStore
) -> dict[str, list[dict[str, Any]]]:
    """The pipeline's input artifacts as stored in the run's state; SpecError if one is bad."""
    root = store.root_uri
    schemes = ("file", "s3") if root.startswith("s3://") else ("file",)
    bound = bind_input_artifacts(plan, arguments, schemes=schemes)
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
