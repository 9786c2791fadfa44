"""Turning a node that is ready to run into its StepReady message (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from headrace_contracts import ArtifactRef, StepInputs, StepOutputSpec, StepReady
from headrace_pipelines import Plan, canonical_json

from .inputs import InputError, resolve
from .resources import resources_of, timeout_of
from .state import Node, RunState


def step_key(run_id: str, node_id: str) -> str:
    """Artifact-store key prefix of a step: ``runs/<run>/<loop>/<i>/<task>``."""
    path = re.sub(r"\[(\d+)\]", r"/\1", node_id)
    return f"runs/{run_id}/{path}"


def step_ready(
    run: RunState,
    plan: Plan,
    node: Node,
    uri_for: Callable[[str], str],
) -> StepReady:
    component = plan.component(node.component)
    outputs = StepOutputSpec(
        parameters={
            name: definition.get("parameterType", "STRING")
            for name, definition in plan.parameter_outputs(node.component).items()
        },
        artifacts={
            name: ArtifactRef(
                uri=uri_for(f"{step_key(run.run_id, node.id)}/{name}"),
                name=name,
                schema_title=(definition.get("artifactType") or {}).get(
                    "schemaTitle", "system.Artifact"
                ),
                schema_version=(definition.get("artifactType") or {}).get("schemaVersion", "0.0.1"),
            )
            for name, definition in plan.artifact_outputs(node.component).items()
        },
    )
    container = plan.executor(node.component)["container"]
    platform = plan.platform_executor(node.component)
    return StepReady(
        run_id=run.run_id,
        step_id=node.id,
        task_name=node.task,
        attempt=node.attempt,
        executor=container,
        component=component,
        inputs=StepInputs(
            parameters=node.parameters,
            artifacts={
                k: [ArtifactRef.model_validate(a) for a in v] for k, v in node.artifacts.items()
            },
        ),
        outputs=outputs,
        allow_host_containers=run.allow_host_containers,
        not_before=node.not_before,
        pipeline_name=plan.name,
        cache_key=node.cache_key,
        resources=resources_of(container, _raw_parameters(run, plan, node)),
        platform=platform,
        timeout_seconds=timeout_of(platform),
    )


def _raw_parameters(run: RunState, plan: Plan, node: Node) -> dict[str, Any]:
    """All of a task's parameter inputs, also the ``pipelinechannel--`` ones kfp adds for a
    ``set_cpu_limit(param)`` (``node.parameters`` keeps only those the component declares)."""
    scope = run.nodes.get(node.scope)
    if scope is None:
        return dict(node.parameters)
    try:
        raw, _ = resolve(run, plan, plan.tasks[scope.component][node.task], scope)
    except (InputError, KeyError):
        return dict(node.parameters)
    return {**raw, **node.parameters}


def cache_key(step: StepReady) -> str:
    """What makes two executions interchangeable: component, command, image and inputs.

    Input artifacts count by URI and digest; output locations do not count (a cache hit
    reuses the earlier execution's outputs where they are).
    """
    executor = step.executor
    material = {
        "component": {k: step.component.get(k) for k in ("inputDefinitions", "outputDefinitions")},
        "executor": {k: executor.get(k) for k in ("image", "command", "args", "env")},
        "parameters": step.inputs.parameters,
        "artifacts": {
            name: [(a.uri, a.digest) for a in refs]
            for name, refs in sorted(step.inputs.artifacts.items())
        },
    }
    return "sha256:" + hashlib.sha256(canonical_json(material).encode()).hexdigest()
