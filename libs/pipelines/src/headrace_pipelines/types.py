"""KFP parameter types: strict checks for arguments, KFP's driver rules between tasks.

Values that come from arguments or from step outputs keep their JSON types exactly (an int
inside a list stays an int). Values written in the spec itself (defaults, constants) went
through protobuf's ``Value``, which has one number type, so ``[1, 2]`` arrives as
``[1.0, 2.0]``: :func:`from_spec` turns integral floats inside lists and structs back into
ints, which is what the author wrote in nearly every case.

:func:`coerce` checks a pipeline argument strictly against its declared type.
:func:`convert_input` applies the rules KFP's driver applies when a value reaches a task's
input (docs/kfp-semantics.md states them): anything reaches a ``STRING`` input as text, a
number reaches either number type, other kinds must match.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import SpecError
from .value_text import as_double, as_text

PARAMETER_TYPES = (
    "STRING",
    "NUMBER_INTEGER",
    "NUMBER_DOUBLE",
    "BOOLEAN",
    "LIST",
    "STRUCT",
    "TASK_FINAL_STATUS",
    "TASK_CONFIG",
)
_PYTHON_NAMES = {
    "STRING": "str",
    "NUMBER_INTEGER": "int",
    "NUMBER_DOUBLE": "float",
    "BOOLEAN": "bool",
    "LIST": "list",
    "STRUCT": "dict",
}


def type_label(ptype: str) -> str:
    return f"{ptype} ({_PYTHON_NAMES[ptype]})" if ptype in _PYTHON_NAMES else ptype


def from_spec(value: Any) -> Any:
    """A value as written in the spec, with protobuf's integral floats made ints again."""
    if isinstance(value, float) and value.is_integer() and not math.isinf(value):
        return int(value)
    if isinstance(value, list):
        return [from_spec(v) for v in value]
    if isinstance(value, dict):
        return {k: from_spec(v) for k, v in value.items()}
    return value


def coerce(value: Any, ptype: str, *, task: str, field: str) -> Any:
    """``value`` as the declared type, or :class:`SpecError` naming ``task`` and ``field``."""
    ok, result = _coerce(value, ptype)
    if not ok:
        raise SpecError(
            f"expects {type_label(ptype)} but got {type(value).__name__} {_short(value)}",
            task=task,
            field=field,
        )
    return result


def _coerce(value: Any, ptype: str) -> tuple[bool, Any]:
    if ptype == "STRING":
        return isinstance(value, str), value
    if ptype == "NUMBER_INTEGER":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        return False, value
    if ptype == "NUMBER_DOUBLE":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int | float):
            return True, float(value)
        return False, value
    if ptype == "BOOLEAN":
        return isinstance(value, bool), value
    if ptype == "LIST":
        return isinstance(value, list), value
    if ptype in ("STRUCT", "TASK_FINAL_STATUS", "TASK_CONFIG"):
        return isinstance(value, dict), value
    return True, value


def convert_input(value: Any, ptype: str, *, task: str, field: str) -> Any:
    """``value`` arriving at an input declared ``ptype``, as KFP's driver lets it through.

    * ``STRING``: a string as it is; any other value as its text (:func:`as_text`): a list
      or struct as compact JSON, a number in plain decimal, a bool as ``true``/``false``,
      ``null`` as the empty text.
    * ``NUMBER_INTEGER`` and ``NUMBER_DOUBLE``: any number. The driver checks only that it
      is a number; a whole number is handed on as an int (as the JSON the executor reads
      writes it), so ``3.0`` reaches an int input as ``3``; ``3.5`` reaches it as ``3.5``.
      A double input gets a float.
    * ``BOOLEAN``, ``LIST``, ``STRUCT`` (and ``TASK_FINAL_STATUS``, ``TASK_CONFIG``, which
      are structs): only a value of that kind. A string is never parsed into another type
      and ``null`` is refused.
    """
    if ptype == "STRING":
        return as_text(value)
    kind = _kind(value)
    accepted = _ACCEPTS.get(ptype)
    if accepted is None:
        return value
    if kind not in accepted:
        got = kind if value is None else f"{kind} {_short(value)}"
        raise SpecError(
            f"expects {type_label(ptype)} but got {got}: KFP converts only "
            "to a str input; pass a value of the declared type or declare the input str",
            task=task,
            field=field,
        )
    if ptype == "NUMBER_DOUBLE":
        return as_double(value)
    if ptype == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_ACCEPTS = {
    "NUMBER_INTEGER": ("number",),
    "NUMBER_DOUBLE": ("number",),
    "BOOLEAN": ("bool",),
    "LIST": ("list",),
    "STRUCT": ("struct",),
    "TASK_FINAL_STATUS": ("struct",),
    "TASK_CONFIG": ("struct",),
}


def _kind(value: Any) -> str:
    """The protobuf ``Value`` kind a value has in KFP: null, bool, number, string, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "struct"
    return type(value).__name__


def parse_text(text: str, ptype: str, *, name: str) -> Any:
    """A command-line ``-p name=text`` value as ``ptype``: ``5`` is an int for an int input."""
    if ptype == "STRING":
        return text
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        if ptype == "BOOLEAN" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise SpecError(
            f"{text!r} is not a {type_label(ptype)} value: write it as JSON, e.g. "
            + {"LIST": "'[1, 2]'", "STRUCT": "'{\"a\": 1}'"}.get(ptype, "42"),
            field=f"parameter {name!r}",
        ) from None
    return coerce(value, ptype, task="root", field=f"parameter {name!r}")


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
