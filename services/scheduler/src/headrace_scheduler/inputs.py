"""Working out a task's inputs from its scope and its siblings' outputs (pure)."""

from __future__ import annotations

import re
from typing import Any

from headrace_pipelines import Plan, SpecError, TaskPlan, as_text, cel, convert_input, from_spec

from .state import Node, RunState, child_id


class InputError(Exception):
    """A task cannot start because an input has no usable value."""


def final_status(run: RunState, producer: Node) -> dict[str, Any]:
    """The ``PipelineTaskFinalStatus`` struct an exit handler receives.

    As KFP's driver fills it: ``state`` (``SUCCEEDED``, ``FAILED`` or ``CANCELLED``; a task
    whose condition was false is ``NOT_TRIGGERED``), the run as the pipeline job's resource
    name, the producer's task name (for ``dsl.ExitHandler`` the ``exit-handler-N`` task),
    and ``error`` as a ``google.rpc.Status``: empty on success, else ``code`` (1 CANCELLED,
    2 UNKNOWN) and ``message`` (the first failed step and its error). The names are given
    both as protobuf's JSON writes them (``pipelineTaskName``, which kfp 2.x reads) and as
    the proto declares them (``pipeline_task_name``, which kfp reads when the first is gone).
    """
    state = _final_state(producer)
    error: dict[str, Any] = {}
    if state in ("FAILED", "CANCELLED"):
        error = {"code": 1 if state == "CANCELLED" else 2, "message": _failure(run, producer)}
    return {
        "state": state,
        "pipelineJobResourceName": run.run_id,
        "pipelineTaskName": producer.task,
        "pipeline_job_resource_name": run.run_id,
        "pipeline_task_name": producer.task,
        "error": error,
    }


def _final_state(producer: Node) -> str:
    if producer.state in ("SUCCEEDED", "CACHED"):
        return "SUCCEEDED"
    if producer.state == "CANCELLED":
        return "CANCELLED"
    if producer.state == "SKIPPED" and not producer.upstream_failed:
        return "NOT_TRIGGERED"
    return "FAILED"


def _failure(run: RunState, producer: Node) -> str:
    """What went wrong inside ``producer``: its first failed step and that step's error."""
    prefixes = (f"{producer.id}/", f"{producer.id}[")
    inside = [
        run.nodes[s]
        for s in run.failed_steps
        if s in run.nodes and (s == producer.id or s.startswith(prefixes))
    ]
    if inside and inside[0].id != producer.id:
        noun = "step" if inside[0].kind in ("container", "importer") else "task"
        return f"{noun} {inside[0].id!r} failed: {inside[0].reason}"
    if producer.state == "CANCELLED":
        return producer.reason or run.cancel_reason or "cancelled"
    return producer.reason or "failed"


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
            selector = task.selectors[key]
            try:
                value = cel.select(selector, value)
            except cel.EvaluationError as exc:
                raise InputError(
                    f"input parameter {key!r}: selector {selector.text!r} failed: {exc}"
                ) from None
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
            lambda m: as_text(parameters[m.group(1)]) if m.group(1) in parameters else m.group(0),
            value,
        )
    if isinstance(value, list):
        return [_substitute(v, parameters) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, parameters) for k, v in value.items()}
    return value


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
        if name in parameters and parameters[name] is None and definition.get("isOptional"):
            continue  # KFP leaves an optional input that resolved to null to its default
        if name in parameters:
            value = parameters[name]
        elif "defaultValue" in definition:
            value = from_spec(definition["defaultValue"])
        elif definition.get("isOptional"):
            continue
        else:
            raise InputError(f"input parameter {name!r} has no value: {missing_reason(task, name)}")
        typed[name] = _convert(value, ptype, node, field)
    return typed


def converted(
    plan: Plan, component_name: str, node: Node, parameters: dict[str, Any]
) -> dict[str, Any]:
    """``parameters`` with each value the component declares converted as KFP's driver does.

    This is what a task's condition sees. Values the component does not declare (kfp's
    ``pipelinechannel--`` extras of a container) pass as they are; missing values are
    :func:`typed_parameters`' concern.
    """
    declared = plan.parameter_inputs(component_name)
    result = dict(parameters)
    for name, value in parameters.items():
        if name in declared:
            ptype = declared[name].get("parameterType", "")
            result[name] = _convert(value, ptype, node, f"inputs.parameters[{name!r}]")
    return result


def _convert(value: Any, ptype: str, node: Node, field: str) -> Any:
    try:
        return convert_input(value, ptype, task=node.id, field=field)
    except SpecError as exc:
        raise InputError(str(exc)) from None


def check_artifacts(plan: Plan, task: TaskPlan, artifacts: dict[str, list[dict[str, Any]]]) -> None:
    for name, definition in plan.artifact_inputs(task.component_name).items():
        if artifacts.get(name) or definition.get("isOptional"):
            continue
        if name in artifacts and definition.get("isArtifactList"):
            continue
        raise InputError(f"input artifact {name!r} has no value: {missing_reason(task, name)}")


def missing_reason(task: TaskPlan, name: str) -> str:
    """Why input ``name`` of ``task`` has no value: nothing sets it, or its producer failed."""
    source = ((task.spec.get("inputs") or {}).get("parameters") or {}).get(name) or (
        (task.spec.get("inputs") or {}).get("artifacts") or {}
    ).get(name)
    if not source:
        return "nothing sets it"
    for kind in ("taskOutputParameter", "taskOutputArtifact"):
        if kind in source:
            return f"its producer {source[kind]['producerTask']!r} did not succeed"
    return "its source has no value"
