"""Pipeline arguments checked against the root's input definitions, defaults filled in."""

from __future__ import annotations

from typing import Any

from .errors import SpecError
from .plan import Plan
from .types import coerce, from_spec


def bind_arguments(plan: Plan, arguments: dict[str, Any]) -> dict[str, Any]:
    """Every root input parameter's value, typed exactly; raises :class:`SpecError`."""
    declared = plan.parameter_inputs("root")
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        raise SpecError(
            f"pipeline {plan.name!r} has no parameter {unknown[0]!r} "
            f"(its parameters: {', '.join(sorted(declared)) or 'none'})",
            task="root",
            field=f"arguments[{unknown[0]!r}]",
        )
    bound: dict[str, Any] = {}
    for name, definition in declared.items():
        ptype = definition.get("parameterType", "")
        field = f"parameter {name!r}"
        if name in arguments:
            bound[name] = coerce(arguments[name], ptype, task="root", field=field)
        elif "defaultValue" in definition:
            bound[name] = coerce(
                from_spec(definition["defaultValue"]), ptype, task="root", field=field
            )
        elif not definition.get("isOptional"):
            raise SpecError(
                f"is required and has no default: pass it (CLI: -p {name}=VALUE)",
                task="root",
                field=field,
            )
    artifacts = plan.artifact_inputs("root")
    if artifacts:
        raise SpecError(
            f"the pipeline takes input artifacts ({', '.join(sorted(artifacts))}), which "
            "Headrace cannot bind at submission yet: use an importer task instead",
            task="root",
            field="inputDefinitions.artifacts",
        )
    return bound
