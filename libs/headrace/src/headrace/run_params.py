"""``-p name=value`` on the command line, typed by the pipeline's declared parameters.

``-p n=5`` is the int 5 for an ``int`` parameter and the text ``"5"`` for a ``str`` one;
lists and dicts are written as JSON (``-p xs='[1, 2]'``). An input artifact of the pipeline
takes its URI: ``-p data=file:///data/train.csv`` or ``-p data=s3://bucket/train.csv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from headrace_pipelines import ROOT, Plan, SpecError, parse_text

from .run_errors import RunRejectedError


def split_param(item: str) -> tuple[str, str]:
    """``"name=value"`` as ``(name, value)``; the value may itself hold ``=``."""
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise RunRejectedError(f"-p expects NAME=VALUE, got {item!r}")
    return name, value


def parse_params(items: Iterable[str], plan: Plan) -> dict[str, Any]:
    """Every ``-p`` item as its declared type; :class:`RunRejectedError` names the parameter."""
    declared = plan.parameter_inputs(ROOT)
    artifacts = plan.artifact_inputs(ROOT)
    values: dict[str, Any] = {}
    for item in items:
        name, text = split_param(item)
        if name in artifacts:
            values[name] = text  # the artifact's URI, checked when the run is submitted
            continue
        definition = declared.get(name)
        if definition is None:
            inputs = [*sorted(declared), *(f"{a} (artifact)" for a in sorted(artifacts))]
            raise RunRejectedError(
                f"pipeline {plan.name!r} has no parameter {name!r} "
                f"(its parameters: {', '.join(inputs) or 'none'})"
            )
        try:
            values[name] = parse_text(text, definition.get("parameterType", ""), name=name)
        except SpecError as exc:
            raise RunRejectedError(str(exc)) from None
    return values
