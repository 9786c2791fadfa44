"""Turning validation errors into :class:`Problem` lines that name the path and the fix."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from .errors import Problem

_HINTS = {
    "nodeSelector": "replicas run on the trainer's own machine",
    "affinity": "replicas run on the trainer's own machine",
    "tolerations": "replicas run on the trainer's own machine",
    "volumes": "read and write data through artifacts or paths on this machine",
    "volumeMounts": "read and write data through artifacts or paths on this machine",
    "initContainers": "run the setup inside the replica's command",
    "valueFrom": "give the variable a literal 'value'",
    "envFrom": "list each variable under 'env' with a literal 'value'",
    "status": "status is reported by Headrace, never applied",
    "schedulingPolicy": "all replicas of a job always start together (gang) here",
    "securityContext": "replicas run as the trainer's user",
    "serviceAccountName": "replicas reach the platform through the trainer, not the API server",
    "hostNetwork": "replicas always use this machine's network",
    "runtimePatches": "the built-in torch-distributed runtime takes no patches",
    "initializer": "fetch datasets and models inside the command or through pipeline artifacts",
    "managedBy": "Headrace manages every job it is given",
    "sklearn": "give predictor.model with modelFormat.name: sklearn",
    "xgboost": "give predictor.model with modelFormat.name: xgboost",
    "pytorch": "give predictor.model with modelFormat.name: pytorch",
    "onnx": "give predictor.model with modelFormat.name: onnx",
    "containers": "Headrace runs its own model server: give predictor.model",
    "transformer": "pre- and post-processing belong in a custom model (modelFormat custom)",
    "explainer": "explainers are not served",
}
_DOCS = {
    "training jobs": "docs/training-jobs.md",
    "Katib experiments": "docs/tuning.md",
    "inference services": "docs/serving.md",
}


def path_of(location: Sequence[int | str], prefix: str = "") -> str:
    """``('spec', 'containers', 0, 'env')`` -> ``spec.containers[0].env``."""
    text = prefix
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def problems_of(
    error: ValidationError, document: int, *, what: str = "training jobs"
) -> list[Problem]:
    """One :class:`Problem` per validation error, unknown fields explained."""
    found: list[Problem] = []
    for detail in error.errors():
        location = [p for p in detail["loc"] if isinstance(p, int | str)]
        path = path_of(location)
        kind = detail["type"]
        if kind == "extra_forbidden":
            field = str(location[-1]) if location else ""
            hint = _HINTS.get(field)
            reason = f" ({hint})" if hint else ""
            message = (
                f"field '{field}' is not supported by Headrace {what}{reason}: remove it "
                f"({_DOCS.get(what, 'docs/tuning.md')} lists the supported fields)"
            )
        elif kind == "missing":
            message = "is required: add it"
        else:
            message = detail["msg"]
            if kind.startswith(("greater_than", "less_than")):
                message += f" (got {detail.get('input')!r})"
            elif kind == "value_error":
                message = message.removeprefix("Value error, ")
        found.append(Problem(document, path, message))
    return found
