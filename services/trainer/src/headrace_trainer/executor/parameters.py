"""Output parameter values, typed per the component's declared KFP type (pure).

A Python component reports typed values in ``executor_output.json`` (``parameterValues``);
a container component writes text to each output parameter's file. Either way the value is
coerced to its declared type, so an integer stays an integer (also inside lists and dicts).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import OutputError

__all__ = ["coerce_parameter", "normalise_type", "parse_parameter"]

_ALIASES = {
    "STRING": "STRING",
    "STR": "STRING",
    "NUMBER_INTEGER": "NUMBER_INTEGER",
    "INTEGER": "NUMBER_INTEGER",
    "INT": "NUMBER_INTEGER",
    "NUMBER_DOUBLE": "NUMBER_DOUBLE",
    "DOUBLE": "NUMBER_DOUBLE",
    "FLOAT": "NUMBER_DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "BOOL": "BOOLEAN",
    "LIST": "LIST",
    "JSONARRAY": "LIST",
    "STRUCT": "STRUCT",
    "DICT": "STRUCT",
    "JSONOBJECT": "STRUCT",
    "TASK_FINAL_STATUS": "TASK_FINAL_STATUS",
}


def normalise_type(kfp_type: str) -> str:
    """``NUMBER_INTEGER`` for ``NUMBER_INTEGER``, ``Integer`` or ``int``; unknown types pass
    through unchanged (and are then kept as they come)."""
    return _ALIASES.get(kfp_type.upper().replace(" ", ""), kfp_type)


def parse_parameter(name: str, text: str, kfp_type: str) -> Any:
    """The value of output parameter ``name`` from the text its file holds."""
    kind = normalise_type(kfp_type)
    if kind == "STRING":
        return text
    stripped = text.strip()
    if kind == "NUMBER_INTEGER":
        try:
            return int(stripped)
        except ValueError:
            return coerce_parameter(name, _json(name, stripped, kind), kind)
    if kind == "NUMBER_DOUBLE":
        try:
            return float(stripped)
        except ValueError:
            raise _mistyped(name, stripped, kind) from None
    if kind == "BOOLEAN" and stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if kind in ("BOOLEAN", "LIST", "STRUCT", "TASK_FINAL_STATUS"):
        return coerce_parameter(name, _json(name, stripped, kind), kind)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return text


def coerce_parameter(name: str, value: Any, kfp_type: str) -> Any:
    """``value`` (from executor output JSON) checked and converted to ``kfp_type``."""
    kind = normalise_type(kfp_type)
    if isinstance(value, str) and kind not in ("STRING",):
        return parse_parameter(name, value, kind)
    if kind == "STRING":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "NUMBER_INTEGER":
        if isinstance(value, bool):
            raise _mistyped(name, value, kind)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise _mistyped(name, value, kind)
    if kind == "NUMBER_DOUBLE":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _mistyped(name, value, kind)
    if kind == "BOOLEAN":
        if isinstance(value, bool):
            return value
        raise _mistyped(name, value, kind)
    if kind == "LIST" and not isinstance(value, list):
        raise _mistyped(name, value, kind)
    if kind == "STRUCT" and not isinstance(value, dict):
        raise _mistyped(name, value, kind)
    return value


def _json(name: str, text: str, kind: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise _mistyped(name, text, kind) from None


def _mistyped(name: str, value: Any, kind: str) -> OutputError:
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return OutputError(
        f"output parameter '{name}' is declared {kind} but the step produced {shown}: "
        f"return or write a {kind} value, or change the declared type"
    )
