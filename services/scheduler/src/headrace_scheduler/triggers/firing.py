"""What one external event does to one trigger: nothing (its filter refuses it), a run with
these arguments, or a rejection with the reason. Pure logic, no I/O."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from headrace_contracts.external import ExternalEvent
from headrace_pipelines import Plan, SpecError, bind_arguments
from headrace_pipelines.event_cel import EvaluationError, filter_holds, render, variables
from headrace_pipelines.triggers import CompiledTrigger


@dataclass(frozen=True)
class Filtered:
    pass


@dataclass(frozen=True)
class Fire:
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reject:
    reason: str


Outcome = Filtered | Fire | Reject


def outcome(trigger: CompiledTrigger, plan: Plan, event: ExternalEvent) -> Outcome:
    values = variables(event.attributes(), event.data)
    if trigger.filter is not None:
        try:
            if not filter_holds(trigger.filter, values):
                return Filtered()
        except EvaluationError as exc:
            return Reject(f"filter {trigger.filter.text!r} could not be evaluated: {exc}")
    given: dict[str, Any] = {}
    for name, template in trigger.templates.items():
        try:
            given[name] = render(template, values)
        except EvaluationError as exc:
            return Reject(f"parameter {name!r}: {exc}")
    try:
        bound = bind_arguments(plan, dict(given))
    except SpecError as exc:
        return Reject(str(exc))
    return Fire({name: bound.get(name, value) for name, value in given.items()})


def run_id_for(name: str, trigger_id: str, event: ExternalEvent) -> str:
    """The run an event starts for a trigger: the same for every delivery of the event (its
    ``ce-source`` and ``ce-id``), so a repeat submits the same run id, a no-op."""
    key = json.dumps([trigger_id, event.source, event.id], separators=(",", ":"))
    return f"{name}-{uuid.uuid5(uuid.NAMESPACE_URL, key).hex[:20]}"
