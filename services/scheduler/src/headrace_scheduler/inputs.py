"""Working out a task's inputs from its scope and its siblings' outputs (pure)."""

from __future__ import annotations

import json
import re
from typing import Any

from headrace_pipelines import Plan, SpecError, TaskPlan, cel, coerce, from_spec

from .state import Node, RunState, child_id


class InputError(Exception):
    """A task cannot start because an input has no usable value."""


FINAL_STATES = {"SUCCEEDED": "SUCCEEDED", "CACHED": "SUCCEEDED", "CANCELLED": "CANCELLED"}


def final_status(run: RunState, producer: Node) -> dict[str, Any]:
    """The ``PipelineTaskFinalStatus`` struct an exit handler receives."""
    state = FINAL_STATES.get(producer.state, "FAILED")
    status: dict[str, Any] = {
        "state": state,
        "pipelineJobResourceName": run.run_id,
        "pipelineTaskName": producer.task,
    }
    if state != "SUCCEEDED":
        status["error"] = {"code": 2 if state == "FAILED" else 1, "message": producer.reason}
    return status


def resolve(
    run: RunState, plan: Plan, task: TaskPlan, scope: Node
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The raw parameter values and artifact lists a task's inputs point at.

    Values that cannot be had (an output of a step that did not succeed, an unknown pipeline
    input) are left out; :func:`typed_parameters` decides whether that is acceptable.
    """
    sources = task.spec.get("inputs") or {}
    parameters: dict[str, Any] = {}
    constants: dict[str, Any] = {}
    for key, source in (sources.get("parameters") or {}).items():
        if "runtimeValue" in source:
            constants[key] = source
            continue
        found, value = _parameter(run, scope, source)
        if not found:
            continue
        if key in task.selectors:
            try:
                value = cel.select(task.selectors[key], value)
            except SpecError as exc:
                raise InputError(f"input parameter {key!r}: {exc.detail}") from None
        parameters[key] = value
    for key, source in constants.items():
        # kfp writes pipeline channels used inside a constant (``[item, item]``) as
        # placeholders and passes their values as extra ``pipelinechannel--`` inputs.
        parameters[key] = _substitute(
            from_spec((source["runtimeValue"] or {}).get("constant")), parameters
        )
    artifacts: dict[str, list[dict[str, Any]]] = {}
    for key, source in (sources.get("artifacts") or {}).items():
        if "componentInputArtifact" in source:
            value = scope.artifacts.get(source["componentInputArtifact"])
        else:
            ref = source["taskOutputArtifact"]
            producer = run.nodes.get(child_id(scope.id, ref["producerTask"]))
            value = producer.out_artifacts.get(ref["outputArtifactKey"]) if producer else None
        if value is not None:
            artifacts[key] = value
    return parameters, artifacts


_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")


def _substitute(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in parameters:
            return parameters[whole.group(1)]
        return _PLACEHOLDER.sub(
            lambda m: _text(parameters[m.group(1)]) if m.group(1) in parameters else m.group(0),
            value,
        )
    if isinstance(value, list):
        return [_substitute(v, parameters) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, parameters) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _parameter(run: RunState, scope: Node, source: dict[str, Any]) -> tuple[bool, Any]:
    if "runtimeValue" in source:
        return True, from_spec((source["runtimeValue"] or {}).get("constant"))
    if "componentInputParameter" in source:
        name = source["componentInputParameter"]
        return name in scope.parameters, scope.parameters.get(name)
    if "taskOutputParameter" in source:
        ref = source["taskOutputParameter"]
        producer = run.nodes.get(child_id(scope.id, ref["producerTask"]))
        key = ref["outputParameterKey"]
        if producer is None or key not in producer.out_parameters:
            return False, None
        return True, producer.out_parameters[key]
    if "taskFinalStatus" in source:
        producer = run.nodes.get(child_id(scope.id, source["taskFinalStatus"]["producerTask"]))
        if producer is None:
            return False, None
        return True, final_status(run, producer)
    return False, None


def typed_parameters(
    plan: Plan, task: TaskPlan, node: Node, parameters: dict[str, Any]
) -> dict[str, Any]:
    """A container task's parameters as its component declares them, defaults filled in."""
    typed: dict[str, Any] = {}
    for name, definition in plan.parameter_inputs(task.component_name).items():
        ptype = definition.get("parameterType", "")
        field = f"inputs.parameters[{name!r}]"
        if name in parameters:
            value = parameters[name]
        elif "defaultValue" in definition:
            value = from_spec(definition["defaultValue"])
        elif definition.get("isOptional"):
            continue
        else:
            raise InputError(
                f"input parameter {name!r} has no value: {_missing_reason(task, name)}"
            )
        try:
            typed[name] = coerce(value, ptype, task=node.id, field=field)
        except SpecError as exc:
            raise InputError(str(exc)) from None
    return typed


def check_artifacts(plan: Plan, task: TaskPlan, artifacts: dict[str, list[dict[str, Any]]]) -> None:
    for name, definition in plan.artifact_inputs(task.component_name).items():
        if artifacts.get(name) or definition.get("isOptional"):
            continue
        if name in artifacts and definition.get("isArtifactList"):
            continue
        raise InputError(f"input artifact {name!r} has no value: {_missing_reason(task, name)}")


def _missing_reason(task: TaskPlan, name: str) -> str:
    source = ((task.spec.get("inputs") or {}).get("parameters") or {}).get(name) or (
        (task.spec.get("inputs") or {}).get("artifacts") or {}
    ).get(name)
    if not source:
        return "nothing sets it"
    for kind in ("taskOutputParameter", "taskOutputArtifact"):
        if kind in source:
            return f"its producer {source[kind]['producerTask']!r} did not succeed"
    return "its source has no value"
