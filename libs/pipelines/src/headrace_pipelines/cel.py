"""CEL in pipeline specs: ``triggerPolicy.condition`` and ``parameterExpressionSelector``.

Expressions are compiled and type-checked by cel-cpp (the ``cel-expr-python`` package, the
CEL team's own Python binding), in the two environments KFP's driver declares with cel-go:

* a **condition** sees the task's resolved inputs as ``inputs.parameter_values[NAME]`` and
  ``inputs.artifacts[NAME].artifacts[i]`` (``uri``, ``name``, ``metadata``), and must give
  a bool: ``int(inputs.parameter_values['pipelinechannel--n']) > 5``;
* a **selector** sees one parameter value as ``string_value`` (always: the value as text)
  and, by its kind, ``number_value``, ``bool_value``, ``struct_value``, ``list_value`` or
  ``null_value``: ``parseJson(string_value)["a"]``.

Both have ``parseJson(string)``. Values reach CEL as protobuf ``Value``s reach cel-go:
every number is a double (so ``int(...)`` is needed for integer arithmetic, and
``int(x) / 2`` truncates), and a map lacks the keys a value lacks. :func:`compile_condition`
and :func:`compile_selector` run once, when a spec is submitted; :func:`condition_holds` and
:func:`select` run per task and raise :class:`EvaluationError` with CEL's reason.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cel_expr_python import cel

from .errors import SpecError
from .types import from_spec
from .value_text import as_double, as_text

_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_STATUS = re.compile(r"^[A-Z_]+: ")
_READS = re.compile(
    r"""parameter_values\s*(?:\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]"""
    r"""|\.\s*([A-Za-z_][A-Za-z0-9_]*))"""
)
_SELECTOR_FIELDS = ("string_value", "number_value", "bool_value", "struct_value", "list_value")


class CelError(SpecError):
    """An expression that is not valid CEL, or not a valid condition or selector.

    ``line`` and ``column`` (1-based) point at the first problem CEL found.
    """

    def __init__(self, message: str, *, expression: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.expression = expression
        self.line = line
        self.column = column


class EvaluationError(ValueError):
    """A valid expression that CEL could not evaluate for these values."""


@dataclass(frozen=True)
class Condition:
    """A compiled ``triggerPolicy.condition``."""

    text: str
    program: Any = field(repr=False, compare=False)
    reads: frozenset[str] = frozenset()
    """The parameter names the condition reads with a literal key."""


@dataclass(frozen=True)
class Selector:
    """A compiled ``parameterExpressionSelector``."""

    text: str
    program: Any = field(repr=False, compare=False)


def compile_condition(text: str) -> Condition:
    """Parse and check a condition; :class:`CelError` names the position of a mistake."""
    program = _compile(_condition_env(), text)
    result = program.return_type()
    if result not in (cel.Type.BOOL, cel.Type.DYN):
        raise CelError(
            f"condition {text!r} gives a value of type {result.name()}, not a bool: compare it "
            "with something, e.g. '... == 1'",
            expression=text,
        )
    reads = frozenset(a or b or c for a, b, c in _READS.findall(text))
    return Condition(text=text, program=program, reads=reads)


def compile_selector(text: str) -> Selector:
    """Parse and check a selector; :class:`CelError` names the position of a mistake."""
    return Selector(text=text, program=_compile(_selector_env(), text))


def condition_holds(
    condition: Condition,
    parameters: Mapping[str, Any],
    artifacts: Mapping[str, list[dict[str, Any]]] | None = None,
) -> bool:
    """Evaluate ``condition`` against a task's resolved inputs (KFP's ``ExecutorInput``)."""
    inputs = {
        "parameter_values": {k: _to_cel(v) for k, v in parameters.items()},
        "artifacts": {k: {"artifacts": _runtime(v)} for k, v in (artifacts or {}).items()},
        "parameters": {},
    }
    outputs = {"parameters": {}, "artifacts": {}, "output_file": ""}
    result = _evaluate(condition.program, {"inputs": inputs, "outputs": outputs})
    if not isinstance(result, bool):
        raise EvaluationError(f"the condition gave {_short(result)}, not true or false")
    return result


def select(selector: Selector, value: Any) -> Any:
    """Apply a selector to one parameter value; the result is a plain JSON value."""
    data: dict[str, Any] = {"string_value": as_text(value)}
    if value is None:
        data["null_value"] = None
    elif isinstance(value, bool):
        data["bool_value"] = value
    elif isinstance(value, int | float):
        data["number_value"] = as_double(value)
    elif isinstance(value, list):
        data["list_value"] = _to_cel(value)
    elif isinstance(value, dict):
        data["struct_value"] = _to_cel(value)
    return from_spec(_plain(_evaluate(selector.program, data), selector.text))


# the environments ------------------------------------------------------------------------


def _parse_json(text: str) -> Any:
    # As cel-go's parseJson in KFP: Go's JSON decoder makes every number a double.
    try:
        return json.loads(text, parse_int=float)
    except json.JSONDecodeError as exc:
        raise ValueError(f"parseJson: {_short(text)} is not JSON ({exc})") from None


def _functions() -> list[Any]:
    overload = cel.Overload(
        "parse_json", return_type=cel.Type.DYN, parameters=[cel.Type.STRING], impl=_parse_json
    )
    return [cel.FunctionDecl("parseJson", [overload])]


@functools.cache
def _condition_env() -> Any:
    variables = {"inputs": cel.Type.DYN, "outputs": cel.Type.DYN}
    return cel.NewEnv(variables=variables, functions=_functions())


@functools.cache
def _selector_env() -> Any:
    variables = {name: cel.Type.DYN for name in (*_SELECTOR_FIELDS, "null_value")}
    return cel.NewEnv(variables=variables, functions=_functions())


def _compile(env: Any, text: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise CelError("the expression is empty", expression=str(text))
    try:
        return env.compile(text)
    except RuntimeError as exc:
        raise _compile_error(text, str(exc)) from None


def _compile_error(text: str, message: str) -> CelError:
    found = _POSITION.search(message)
    if not found:
        return CelError(f"{_STATUS.sub('', message)} in {text!r}", expression=text)
    line, column, reason = int(found.group(1)), int(found.group(2)), found.group(3).strip()
    where = f"line {line}, column {column}" if "\n" in text else f"column {column}"
    return CelError(
        f"{text!r} is not valid CEL: at {where}: {reason}",
        expression=text,
        line=line,
        column=column,
    )


def _evaluate(program: Any, data: dict[str, Any]) -> Any:
    try:
        result = program.eval(data=data)
    except Exception as exc:  # cel-cpp reports a value it cannot take as an exception
        raise EvaluationError(_STATUS.sub("", str(exc))) from None
    if result.type() == cel.Type.ERROR:
        raise EvaluationError(_STATUS.sub("", str(result.value())))
    return result.plain_value()


# values across the boundary ---------------------------------------------------------------


def _to_cel(value: Any) -> Any:
    """A JSON value as protobuf's ``Value`` shows it to CEL: every number a double."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return as_double(value)
    if isinstance(value, list | tuple):
        return [_to_cel(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_cel(v) for k, v in value.items()}
    return as_text(value)


def _runtime(artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": a.get("name", ""),
            "uri": a.get("uri", ""),
            "metadata": _to_cel(a.get("metadata") or {}),
            "type": {
                "schema_title": a.get("schema_title", ""),
                "schema_version": a.get("schema_version", ""),
            },
        }
        for a in artifacts
    ]


def _plain(value: Any, text: str) -> Any:
    """A CEL result as a parameter value, or :class:`EvaluationError` if it cannot be one."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_plain(v, text) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, text) for k, v in value.items()}
    raise EvaluationError(
        f"the selector gives {_short(value)}, which is not a parameter value (a string, "
        "number, bool, list or struct with string keys)"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
