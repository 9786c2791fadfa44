"""A parameter value as text, written exactly as KFP's backend writes it.

KFP keeps every parameter value as a protobuf ``Value``, which has one number type (a
double). When a value reaches an input declared ``STRING``, or a selector reads it as
``string_value``, the driver turns it into text:

* a string stays as it is; ``null`` becomes the empty text;
* a number is written in plain decimal notation with the fewest digits that read back to
  the same double (``3`` for 3 and 3.0, ``0.1``, ``0.0000001``, never an exponent);
* a bool is ``true`` or ``false``;
* a list or struct is compact JSON: no spaces, keys sorted, numbers as JSON writes a
  double (``1``, ``2.5``, an exponent only below 1e-6 or from 1e21 up), non-ASCII text
  kept, and ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\u`` escapes (Go's JSON
  encoder does this to protobuf's JSON).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

_HTML_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_ESCAPES["\t"] = "\\t"


def as_text(value: Any) -> str:
    """``value`` as the driver hands it to a ``STRING`` input (Go's ``PbValueToText``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _plain_number(as_double(value))
    return json_text(value)


def json_text(value: Any) -> str:
    """``value`` as compact JSON, the way protobuf's JSON encoder writes a ``Value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int | float):
        return _json_number(as_double(value))
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        return "{" + ",".join(f"{_string(k)}:{json_text(v)}" for k, v in items) + "}"
    return _string(str(value))  # not a JSON value: cannot come from a step; never fails


def as_double(value: int | float) -> float:
    """A number as KFP holds it: a double (an int beyond the double range is infinite)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _plain_number(number: float) -> str:
    # Go's strconv.FormatFloat(n, 'f', -1, 64): shortest digits, never an exponent.
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if number.is_integer():
        return "-0" if number == 0 and math.copysign(1.0, number) < 0 else str(int(number))
    return format(Decimal(repr(number)), "f")


def _json_number(number: float) -> str:
    # protobuf's JSON encoder: like JavaScript, an exponent only below 1e-6 or from 1e21 up.
    if math.isnan(number):
        return '"NaN"'
    if math.isinf(number):
        return '"Infinity"' if number > 0 else '"-Infinity"'
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        return format(Decimal(repr(number)), "e")
    return _plain_number(number)


def _string(text: str) -> str:
    out = ['"']
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " ":
            out.append(f"\\u{ord(char):04x}")
        elif char in _HTML_ESCAPES:
            out.append(_HTML_ESCAPES[char])
        else:
            out.append(char)
    out.append('"')
    return "".join(out)
