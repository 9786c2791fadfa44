"""``-p name=value`` on the command line, typed by the pipeline's declared parameters.

``-p n=5`` is the int 5 for an ``int`` parameter and the text ``"5"`` for a ``str`` one;
lists and dicts are written as JSON (``-p xs='[1, 2]'``).
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
    values: dict[str, Any] = {}
    for item in items:
        name, text = split_param(item)
        definition = declared.get(name)
        if definition is None:
            raise RunRejectedError(
                f"pipeline {plan.name!r} has no parameter {name!r} "
                f"(its parameters: {', '.join(sorted(declared)) or 'none'})"
            )
        try:
            values[name] = parse_text(text, definition.get("parameterType", ""), name=name)
        except SpecError as exc:
            raise RunRejectedError(str(exc)) from None
    return values
