"""CEL over an external CloudEvent, for event triggers: a filter and parameter templates.

Both see two variables: ``attributes`` (``id``, ``source``, ``type``, ``subject``, ``time``,
``specversion``, and ``extensions``, a map of the other ``ce-*`` headers) and ``data`` (the
event's JSON, numbers as JSON has them: ``3`` is an int, ``3.5`` a double).

* A **filter** must give a bool: ``data.amount > 100 && attributes.source == '/shop'``.
* A **parameter** is a template: ``{{ data.order.id }}`` alone gives the expression's value
  with its type (an int stays an int); ``order-{{ data.order.id }}`` gives text with each
  ``{{ }}`` replaced by its value as text; a value without ``{{`` is a constant.

Compiled once (when a trigger is created, by the client before sending and by the
scheduler); evaluated per event, raising :class:`EvaluationError` with CEL's reason (a key the
data lacks: ``Key not found in map : "amount"``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cel_expr_python import cel

from .cel import CelError, EvaluationError, _compile, _evaluate, _plain
from .value_text import as_text

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

__all__ = [
    "CelError",
    "EvaluationError",
    "EventFilter",
    "Template",
    "compile_filter",
    "compile_template",
    "filter_holds",
    "render",
]


@functools.cache
def _env() -> Any:
    return cel.NewEnv(variables={"attributes": cel.Type.DYN, "data": cel.Type.DYN})


@dataclass(frozen=True)
class EventFilter:
    text: str
    program: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class Template:
    """A parameter's value: a constant, one expression, or text around expressions."""

    value: Any
    parts: tuple[str | tuple[str, Any], ...] = ()
    """Text pieces and ``(expression, program)`` pairs, in order; empty for a constant."""

    @property
    def constant(self) -> bool:
        return not self.parts

    @property
    def expressions(self) -> list[str]:
        return [part[0] for part in self.parts if isinstance(part, tuple)]


def compile_filter(text: str) -> EventFilter:
    """A trigger's filter; :class:`CelError` names the expression and CEL's message."""
    program = _compile(_env(), text)
    result = program.return_type()
    if result not in (cel.Type.BOOL, cel.Type.DYN):
        raise CelError(
            f"filter {text!r} gives a value of type {result.name()}, not a bool: compare it "
            "with something, e.g. \"data.kind == 'order'\"",
            expression=text,
        )
    return EventFilter(text=text, program=program)


def compile_template(value: Any) -> Template:
    """A parameter value: ``{{ CEL }}`` templates compiled, anything else a constant."""
    if not isinstance(value, str) or "{{" not in value:
        return Template(value=value)
    parts: list[str | tuple[str, Any]] = []
    end = 0
    for found in _TEMPLATE.finditer(value):
        if found.start() > end:
            parts.append(value[end : found.start()])
        expression = found.group(1).strip()
        if not expression:
            raise CelError(f"{value!r} has an empty {{{{ }}}}", expression=value)
        parts.append((expression, _compile(_env(), expression)))
        end = found.end()
    rest = value[end:]
    if "{{" in rest:
        raise CelError(
            f"{value!r} has an unclosed '{{{{': write each expression as {{{{ expression }}}}",
            expression=value,
        )
    if rest:
        parts.append(rest)
    stray = [p for p in parts if isinstance(p, str) and "}}" in p]
    if stray:
        raise CelError(f"{value!r} has a '}}}}' without its '{{{{'", expression=value)
    return Template(value=value, parts=tuple(parts))


def variables(attributes: Mapping[str, Any], data: Any) -> dict[str, Any]:
    return {"attributes": dict(attributes), "data": data}


def filter_holds(compiled: EventFilter, values: Mapping[str, Any]) -> bool:
    result = _evaluate(compiled.program, dict(values))
    if not isinstance(result, bool):
        raise EvaluationError(f"the filter gave {as_text(result)!r}, not true or false")
    return result


def render(template: Template, values: Mapping[str, Any]) -> Any:
    """The parameter's value for one event; :class:`EvaluationError` with CEL's reason."""
    if template.constant:
        return template.value
    results: list[Any] = []
    for part in template.parts:
        if isinstance(part, str):
            results.append(part)
            continue
        expression, program = part
        try:
            results.append(_plain(_evaluate(program, dict(values)), expression))
        except EvaluationError as exc:
            raise EvaluationError(f"{{{{ {expression} }}}}: {exc}") from None
    if len(template.parts) == 1:
        return results[0]
    return "".join(r if isinstance(r, str) else as_text(r) for r in results)
