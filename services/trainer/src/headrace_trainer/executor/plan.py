"""From a StepReady to what to launch: local paths, ExecutorInput, resolved command.

Runs before the process starts (downloads inputs, so it does I/O through `Staging`); the
decisions themselves are in the pure modules it calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from headrace_contracts import ArtifactRef, StepReady

from ..errors import ContainerRefused, StepError
from .executor_input import LocalArtifact, build_executor_input, declared_artifact_type
from .logs import safe_segment
from .placeholders import PipelineInfo, resolve_args, resolve_parameter_references
from .runner import Launch, PythonCall
from .shape import detect_python_component
from .staging import Staging

__all__ = ["OutputArtifact", "Plan", "plan_step", "step_env"]

EXECUTOR_OUTPUT = "executor_output.json"


@dataclass(frozen=True)
class OutputArtifact:
    name: str
    target: ArtifactRef
    path: Path
    schema_title: str
    schema_version: str


@dataclass(frozen=True)
class Plan:
    launch: Launch
    executor_output: Path
    parameter_types: dict[str, str]
    parameter_files: dict[str, Path]
    artifacts: list[OutputArtifact]
    packages: list[str] = field(default_factory=list)


def plan_step(step: StepReady, staging: Staging, log_path: Path) -> Plan:
    """Stage inputs, choose output paths, build the ExecutorInput and the command."""
    workdir = staging.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    info = PipelineInfo(
        pipeline_name=step.pipeline_name,
        run_id=step.run_id,
        task_name=step.task_name,
        step_id=step.step_id,
        pipeline_root=staging.store.root_uri,
    )
    container = step.executor.get("container", step.executor)
    python = detect_python_component(container)
    if python is None and not step.allow_host_containers:
        image = container.get("image") or "(no image)"
        raise ContainerRefused(
            f"step '{step.task_name}' runs container image '{image}', which the local backend "
            "cannot run: submit the run with allow_host_containers (CLI: "
            "--allow-host-containers) to run its command on this machine, or use the "
            "Kubernetes backend"
        )

    inputs = {
        name: [_local_input(step, staging, name, index, ref) for index, ref in enumerate(refs)]
        for name, refs in step.inputs.artifacts.items()
    }
    parameter_types = dict(step.outputs.parameters)
    for name, spec in step.component.get("outputDefinitions", {}).get("parameters", {}).items():
        parameter_types.setdefault(name, str(spec.get("parameterType", "STRING")))
    parameter_files = {
        name: workdir / "parameters" / safe_segment(name) for name in parameter_types
    }
    for path in parameter_files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    outputs = [_output(step, staging, name, ref) for name, ref in step.outputs.artifacts.items()]
    executor_output = workdir / EXECUTOR_OUTPUT
    executor_input = build_executor_input(
        parameters=resolve_parameter_references(step.inputs.parameters, info),
        input_artifacts=inputs,
        output_parameter_files={name: str(path) for name, path in parameter_files.items()},
        output_artifacts={
            out.name: LocalArtifact(out.name, str(out.path), out.schema_title, out.schema_version)
            for out in outputs
        },
        output_file=str(executor_output),
    )
    env = {
        str(item["name"]): str(item.get("value", ""))
        for item in container.get("env") or []
        if isinstance(item, dict) and "name" in item
    }
    env.update(step_env(step, staging.store.root_uri))
    if python is not None:
        launch = Launch(
            argv=[],
            cwd=workdir,
            log_path=log_path,
            env=env,
            python=PythonCall(python.source, resolve_args(python.args, executor_input, info)),
        )
    else:
        argv = resolve_args(
            [*(container.get("command") or []), *(container.get("args") or [])],
            executor_input,
            info,
        )
        if not argv:
            raise StepError("has an empty command: give the container component a command or args")
        launch = Launch(argv=argv, cwd=workdir, log_path=log_path, env=env)
    return Plan(
        launch=launch,
        executor_output=executor_output,
        parameter_types=parameter_types,
        parameter_files=parameter_files,
        artifacts=outputs,
        packages=python.packages if python else [],
    )


def step_env(step: StepReady, artifacts: str) -> dict[str, str]:
    """What a step process learns about itself: its run, step and attempt (code inside it,
    such as ``headrace.training.run_job``, links what it starts to them) and the artifact
    store's root. They win over a container ``env`` entry of the same name."""
    return {
        "HEADRACE_RUN_ID": step.run_id,
        "HEADRACE_STEP_ID": step.step_id,
        "HEADRACE_TASK_NAME": step.task_name,
        "HEADRACE_STEP_ATTEMPT": str(step.attempt),
        "HEADRACE_ARTIFACTS": artifacts,
    }


def _local_input(
    step: StepReady, staging: Staging, name: str, index: int, ref: ArtifactRef
) -> LocalArtifact:
    declared = declared_artifact_type(step.component, "inputDefinitions", name)
    title, version = declared or (ref.schema_title, ref.schema_version)
    path = staging.fetch_input(name, index, ref)
    return LocalArtifact(ref.name or name, str(path), title, version, ref.metadata)


def _output(step: StepReady, staging: Staging, name: str, ref: ArtifactRef) -> OutputArtifact:
    declared = declared_artifact_type(step.component, "outputDefinitions", name)
    title, version = declared or (ref.schema_title, ref.schema_version)
    return OutputArtifact(name, ref, staging.output_path(name, ref), title, version)
