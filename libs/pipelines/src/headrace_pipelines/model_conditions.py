"""Promotion conditions of the model registry: CEL over a model version (pure).

``headrace model promote NAME VERSION --alias production --require 'metrics.accuracy >= 0.95'``
checks the expression before publishing (:func:`compile_requirement`) and the metadata
service checks it again and evaluates it against the version (:func:`requirement_holds`).
The expression sees:

* ``metrics``: the version's metrics, name -> double (``metrics.accuracy``);
* ``properties``: its custom properties (the artifact's metadata), JSON values;
* ``labels`` (string -> string), ``tags`` (list of strings), ``version`` (int),
  ``model`` (its name) and ``framework``.

A key the version lacks is an evaluation error naming it; test for one with
``has(metrics.auc) && metrics.auc > 0.9``. Compiled by cel-cpp (``cel-expr-python``), as
pipeline conditions are in :mod:`headrace_pipelines.cel`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cel_expr_python import cel

__all__ = [
    "VARIABLES",
    "Requirement",
    "RequirementError",
    "compile_requirement",
    "requirement_holds",
]

VARIABLES = ("metrics", "properties", "labels", "tags", "version", "model", "framework")
_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")
_STATUS = re.compile(r"^[A-Z_]+: ")


class RequirementError(ValueError):
    """A condition that is not valid CEL or not a bool (``column`` is 1-based, 0 if unknown),
    or one that CEL could not evaluate for a version (``column`` 0)."""

    def __init__(self, message: str, *, expression: str, column: int = 0) -> None:
        super().__init__(message)
        self.expression = expression
        self.column = column


@dataclass(frozen=True)
class Requirement:
    text: str
    program: Any = field(repr=False, compare=False)


def compile_requirement(text: str) -> Requirement:
    """Parse and type-check a condition; :class:`RequirementError` names the position."""
    if not isinstance(text, str) or not text.strip():
        raise RequirementError(
            "the condition is empty: write a CEL expression such as 'metrics.accuracy >= 0.95'",
            expression=str(text),
        )
    try:
        program = _env().compile(text)
    except RuntimeError as exc:
        raise _compile_error(text, str(exc)) from None
    result = program.return_type()
    if result not in (cel.Type.BOOL, cel.Type.DYN):
        raise RequirementError(
            f"condition {text!r} gives a value of type {result.name().lower()}, not a bool: "
            "compare it with something, e.g. 'metrics.accuracy >= 0.95'",
            expression=text,
        )
    return Requirement(text=text, program=program)


def requirement_holds(
    requirement: Requirement,
    *,
    metrics: Mapping[str, float],
    properties: Mapping[str, Any],
    labels: Mapping[str, str],
    tags: Sequence[str],
    version: int,
    model: str,
    framework: str = "",
) -> bool:
    """Evaluate against one version; :class:`RequirementError` when CEL cannot."""
    data = {
        "metrics": {k: float(v) for k, v in metrics.items() if math.isfinite(v)},
        "properties": _plain(dict(properties)),
        "labels": dict(labels),
        "tags": list(tags),
        "version": version,
        "model": model,
        "framework": framework,
    }
    text = requirement.text
    try:
        result = requirement.program.eval(data=data)
    except Exception as exc:  # cel-cpp reports a value it cannot take as an exception
        raise RequirementError(_STATUS.sub("", str(exc)), expression=text) from None
    if result.type() == cel.Type.ERROR:
        raise RequirementError(_STATUS.sub("", str(result.value())), expression=text)
    value = result.plain_value()
    if not isinstance(value, bool):
        raise RequirementError(f"the condition gave {value!r}, not true or false", expression=text)
    return value


@functools.cache
def _env() -> Any:
    variables = {name: cel.Type.DYN for name in VARIABLES}
    variables["version"] = cel.Type.INT
    variables["model"] = cel.Type.STRING
    variables["framework"] = cel.Type.STRING
    return cel.NewEnv(variables=variables)


def _compile_error(text: str, message: str) -> RequirementError:
    found = _POSITION.search(message)
    if not found:
        return RequirementError(f"{_STATUS.sub('', message)} in {text!r}", expression=text)
    column, reason = int(found.group(2)), found.group(3).strip()
    line = int(found.group(1))
    where = f"line {line}, column {column}" if "\n" in text else f"column {column}"
    names = ", ".join(VARIABLES)
    return RequirementError(
        f"condition {text!r} is not valid CEL: at {where}: {reason} (it can read: {names})",
        expression=text,
        column=column,
    )


def _plain(value: Any) -> Any:
    """JSON values as CEL takes them (tuples as lists, keys as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
