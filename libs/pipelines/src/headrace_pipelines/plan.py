"""A validated pipeline: the PipelineSpec checked once, with fast lookups for the scheduler.

:func:`compile_plan` parses the spec with the ``kfp-pipeline-spec`` protobuf package (so a
misspelt or mistyped field is refused the way KFP itself would refuse it), then checks what
protobuf cannot: references between tasks, declared inputs and outputs, cycles, conditions.
The :class:`Plan` keeps the spec as plain JSON, which is what the scheduler works from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import cel
from .errors import SpecError

SCHEMA_VERSIONS = ("2.0.0", "2.1.0")
ROOT = "root"
CHANNEL = "pipelinechannel--"  # kfp's prefix for values a task passes on inside constants
# Inputs kfp adds to a task whose set_cpu_limit(...) etc. take a pipeline parameter: the
# executor's resources read them as placeholders; the component does not declare them.
RESOURCE_INPUTS = frozenset(
    {"cpu_request", "cpu_limit", "memory_request", "memory_limit"}
    | {"accelerator_type", "accelerator_count"}
)
_Compiled = TypeVar("_Compiled", cel.Condition, cel.Selector)


@dataclass(frozen=True)
class TaskPlan:
    """One task of one DAG component, with its references worked out."""

    name: str
    spec: dict[str, Any]
    component_name: str
    kind: str  # container, importer, dag
    upstream: frozenset[str]
    condition: cel.Condition | None = None
    selectors: dict[str, cel.Selector] = field(default_factory=dict)

    @property
    def iterator(self) -> dict[str, Any] | None:
        return self.spec.get("parameterIterator") or self.spec.get("artifactIterator")

    @property
    def strategy(self) -> str:
        policy = self.spec.get("triggerPolicy") or {}
        return str(policy.get("strategy") or "ALL_UPSTREAM_TASKS_SUCCEEDED")

    @property
    def caching(self) -> bool:
        return bool((self.spec.get("cachingOptions") or {}).get("enableCache", False))

    @property
    def retry(self) -> dict[str, Any]:
        return self.spec.get("retryPolicy") or {}


@dataclass(frozen=True)
class Plan:
    spec: dict[str, Any]
    name: str
    tasks: dict[str, dict[str, TaskPlan]]  # DAG component name -> task name -> task
    platform: dict[str, Any] = field(default_factory=dict)  # kfp's PlatformSpec, if any

    @property
    def root(self) -> dict[str, Any]:
        return self.spec["root"]  # type: ignore[no-any-return]

    def component(self, name: str) -> dict[str, Any]:
        if name == ROOT:
            return self.root
        return self.spec["components"][name]  # type: ignore[no-any-return]

    def executor(self, component_name: str) -> dict[str, Any]:
        label = self.component(component_name)["executorLabel"]
        return self.spec["deploymentSpec"]["executors"][label]  # type: ignore[no-any-return]

    def platform_executor(self, component_name: str) -> dict[str, Any]:
        """The kfp-kubernetes executor config (node selectors, secrets, volumes, ...) of a
        component's executor: ``platforms.kubernetes.deploymentSpec.executors.<label>``."""
        label = self.component(component_name).get("executorLabel")
        kubernetes = (self.platform.get("platforms") or {}).get("kubernetes") or {}
        executors = (kubernetes.get("deploymentSpec") or {}).get("executors") or {}
        return dict(executors.get(label) or {})

    def parameter_inputs(self, component_name: str) -> dict[str, dict[str, Any]]:
        return _defs(self.component(component_name), "inputDefinitions", "parameters")

    def artifact_inputs(self, component_name: str) -> dict[str, dict[str, Any]]:
        return _defs(self.component(component_name), "inputDefinitions", "artifacts")

    def parameter_outputs(self, component_name: str) -> dict[str, dict[str, Any]]:
        return _defs(self.component(component_name), "outputDefinitions", "parameters")

    def artifact_outputs(self, component_name: str) -> dict[str, dict[str, Any]]:
        return _defs(self.component(component_name), "outputDefinitions", "artifacts")

    def dag_outputs(self, component_name: str) -> dict[str, Any]:
        return (self.component(component_name).get("dag") or {}).get("outputs") or {}

    def step_count(self) -> int:
        return sum(1 for tasks in self.tasks.values() for t in tasks.values() if t.kind != "dag")


def _defs(component: dict[str, Any], side: str, kind: str) -> dict[str, dict[str, Any]]:
    return (component.get(side) or {}).get(kind) or {}


def compile_plan(spec: dict[str, Any], platform: dict[str, Any] | None = None) -> Plan:
    """Validate ``spec`` (a PipelineSpec as JSON) and build its :class:`Plan`; ``platform``
    is kfp's PlatformSpec (the compiled YAML's second document), kept as it is."""
    _parse_proto(spec)
    version = spec.get("schemaVersion", "")
    if version not in SCHEMA_VERSIONS:
        raise SpecError(
            f"schemaVersion {version!r} is not supported: compile with kfp 2.x "
            f"(supported: {', '.join(SCHEMA_VERSIONS)})",
            field="schemaVersion",
        )
    if platform is not None and not isinstance(platform, dict):
        raise SpecError(
            f"the platform spec is a {type(platform).__name__}, not a mapping: pass the second "
            "document of kfp's compiled YAML (platforms: kubernetes: ...) or none",
            field="platform_spec",
        )
    if "dag" not in spec.get("root", {}):
        raise SpecError("the pipeline has no root DAG", task=ROOT, field="root.dag")
    name = str((spec.get("pipelineInfo") or {}).get("name") or "pipeline")
    builder = _Builder(spec)
    builder.visit(ROOT, ROOT, ())
    return Plan(spec=spec, name=name, tasks=builder.tasks, platform=dict(platform or {}))


def load_protobuf_support() -> None:
    """Import the PipelineSpec protobuf code now rather than at the first validation.

    A service that validates specs calls this at start so its first run is not slowed by
    loading kfp (about 1.5 s); a command that never validates never pays for it.
    """
    from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: F401


def _parse_proto(spec: dict[str, Any]) -> None:
    # Imported here: ``kfp.pipeline_spec`` loads the whole kfp package (about 1.5 s), which
    # commands that never validate a spec (``headrace run list``) should not pay for.
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    try:
        json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    except json_format.ParseError as exc:
        raise SpecError(f"not a valid KFP PipelineSpec: {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise SpecError(f"not a valid KFP PipelineSpec: {exc}") from None


class _Builder:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components: dict[str, Any] = spec.get("components") or {}
        self.executors: dict[str, Any] = (spec.get("deploymentSpec") or {}).get("executors") or {}
        self.tasks: dict[str, dict[str, TaskPlan]] = {}

    def component(self, name: str) -> dict[str, Any]:
        return self.spec["root"] if name == ROOT else self.components[name]  # type: ignore[no-any-return]

    def visit(self, component_name: str, path: str, stack: tuple[str, ...]) -> None:
        if component_name in stack:
            raise SpecError(
                f"component {component_name!r} contains itself "
                f"({' -> '.join((*stack, component_name))}): a pipeline cannot nest itself",
                task=path,
                field="componentRef.name",
            )
        if component_name in self.tasks:
            return
        component = self.component(component_name)
        dag = component["dag"]
        raw_tasks: dict[str, Any] = dag.get("tasks") or {}
        plans: dict[str, TaskPlan] = {}
        for task_name, task in raw_tasks.items():
            plans[task_name] = self.task(component_name, component, path, task_name, task)
        _check_acyclic(plans, path)
        self.tasks[component_name] = plans
        self.check_dag_outputs(component, path)
        for task in plans.values():
            if task.kind == "dag":
                self.visit(task.component_name, f"{path}/{task.name}", (*stack, component_name))

    def task(
        self,
        parent_name: str,
        parent: dict[str, Any],
        path: str,
        name: str,
        task: dict[str, Any],
    ) -> TaskPlan:
        where = f"{path}/{name}" if path != ROOT else name
        ref = (task.get("componentRef") or {}).get("name", "")
        if ref not in self.components:
            raise SpecError(
                f"refers to component {ref!r}, which the spec does not define",
                task=where,
                field="componentRef.name",
            )
        component = self.components[ref]
        kind = self.kind_of(component, where)
        siblings: dict[str, Any] = (parent.get("dag") or {}).get("tasks") or {}
        upstream = set(task.get("dependentTasks") or [])
        for dep in upstream:
            if dep not in siblings:
                raise SpecError(
                    f"depends on task {dep!r}, which is not in the same DAG",
                    task=where,
                    field="dependentTasks",
                )
        inputs = task.get("inputs") or {}
        parent_params = _defs(parent, "inputDefinitions", "parameters")
        parent_arts = _defs(parent, "inputDefinitions", "artifacts")
        declared_params = _defs(component, "inputDefinitions", "parameters")
        declared_arts = _defs(component, "inputDefinitions", "artifacts")
        selectors: dict[str, cel.Selector] = {}
        for key, source in (inputs.get("parameters") or {}).items():
            fld = f"inputs.parameters[{key!r}]"
            undeclared = key not in declared_params and key not in RESOURCE_INPUTS
            if undeclared and kind != "dag" and not key.startswith(CHANNEL):
                raise SpecError(
                    f"sets input parameter {key!r}, which component {ref!r} does not declare",
                    task=where,
                    field=fld,
                )
            if "taskOutputParameter" in source:
                ref_out = source["taskOutputParameter"]
                producer = ref_out.get("producerTask", "")
                self.check_output(
                    siblings,
                    producer,
                    ref_out.get("outputParameterKey", ""),
                    "parameters",
                    where,
                    fld,
                )
                upstream.add(producer)
            elif "taskFinalStatus" in source:
                producer = source["taskFinalStatus"].get("producerTask", "")
                if producer not in siblings:
                    raise SpecError(
                        f"takes the final status of task {producer!r}, which is not in the "
                        "same DAG",
                        task=where,
                        field=fld,
                    )
                upstream.add(producer)
            elif "componentInputParameter" in source:
                wanted = source["componentInputParameter"]
                if wanted not in parent_params and kind != "dag":
                    raise SpecError(
                        f"reads pipeline input {wanted!r}, which the enclosing "
                        f"{'pipeline' if parent_name == ROOT else 'DAG'} does not declare",
                        task=where,
                        field=fld,
                    )
            elif "runtimeValue" not in source:
                raise SpecError(
                    f"has an unsupported input source {sorted(source)}",
                    task=where,
                    field=fld,
                )
            selector = source.get("parameterExpressionSelector")
            if selector:
                selectors[key] = _compile_cel(
                    cel.compile_selector, selector, where, f"{fld}.parameterExpressionSelector"
                )
        for key, source in (inputs.get("artifacts") or {}).items():
            fld = f"inputs.artifacts[{key!r}]"
            if key not in declared_arts and kind != "dag":
                raise SpecError(
                    f"sets input artifact {key!r}, which component {ref!r} does not declare",
                    task=where,
                    field=fld,
                )
            if "taskOutputArtifact" in source:
                ref_out = source["taskOutputArtifact"]
                producer = ref_out.get("producerTask", "")
                self.check_output(
                    siblings,
                    producer,
                    ref_out.get("outputArtifactKey", ""),
                    "artifacts",
                    where,
                    fld,
                )
                upstream.add(producer)
            elif "componentInputArtifact" in source:
                wanted = source["componentInputArtifact"]
                if wanted not in parent_arts:
                    raise SpecError(
                        f"reads input artifact {wanted!r}, which the enclosing DAG does not "
                        "declare",
                        task=where,
                        field=fld,
                    )
            else:
                raise SpecError(
                    f"has an unsupported artifact source {sorted(source)}",
                    task=where,
                    field=fld,
                )
        if kind != "dag":
            given_params = set(inputs.get("parameters") or {})
            for key, definition in declared_params.items():
                if (
                    key in given_params
                    or definition.get("isOptional")
                    or "defaultValue" in (definition)
                ):
                    continue
                raise SpecError(
                    f"does not set required input parameter {key!r} of component {ref!r}",
                    task=where,
                    field=f"inputs.parameters[{key!r}]",
                )
            given_arts = set(inputs.get("artifacts") or {})
            for key, definition in declared_arts.items():
                if key in given_arts or definition.get("isOptional"):
                    continue
                raise SpecError(
                    f"does not set required input artifact {key!r} of component {ref!r}",
                    task=where,
                    field=f"inputs.artifacts[{key!r}]",
                )
        condition = None
        policy = task.get("triggerPolicy") or {}
        if policy.get("condition"):
            condition = _compile_cel(
                cel.compile_condition, policy["condition"], where, "triggerPolicy.condition"
            )
            _check_condition_reads(condition, set(inputs.get("parameters") or {}), where)
        strategy = policy.get("strategy")
        if strategy not in (
            None,
            "",
            "ALL_UPSTREAM_TASKS_SUCCEEDED",
            "ALL_UPSTREAM_TASKS_COMPLETED",
        ):
            raise SpecError(
                f"trigger strategy {strategy!r} is not supported",
                task=where,
                field="triggerPolicy.strategy",
            )
        self.check_iterator(task, kind, where)
        if upstream & {name}:
            raise SpecError("depends on itself", task=where, field="dependentTasks")
        return TaskPlan(
            name=name,
            spec=task,
            component_name=ref,
            kind=kind,
            upstream=frozenset(upstream),
            condition=condition,
            selectors=selectors,
        )

    def kind_of(self, component: dict[str, Any], where: str) -> str:
        if "dag" in component:
            return "dag"
        label = component.get("executorLabel", "")
        executor = self.executors.get(label)
        if executor is None:
            raise SpecError(
                f"its component's executor {label!r} is not in deploymentSpec.executors",
                task=where,
                field="executorLabel",
            )
        if "container" in executor:
            if not (executor["container"].get("image")):
                raise SpecError(
                    "its container has no image",
                    task=where,
                    field=f"deploymentSpec.executors[{label!r}].container.image",
                )
            return "container"
        if "importer" in executor:
            return "importer"
        raise SpecError(
            f"executor {label!r} is a {', '.join(sorted(executor))} executor; Headrace runs "
            "container and importer executors",
            task=where,
            field=f"deploymentSpec.executors[{label!r}]",
        )

    def check_output(
        self,
        siblings: dict[str, Any],
        producer: str,
        key: str,
        kind: str,
        where: str,
        fld: str,
    ) -> None:
        if producer not in siblings:
            raise SpecError(
                f"reads an output of task {producer!r}, which is not in the same DAG",
                task=where,
                field=fld,
            )
        ref = (siblings[producer].get("componentRef") or {}).get("name", "")
        outputs = _defs(self.components.get(ref, {}), "outputDefinitions", kind)
        if key not in outputs:
            noun = "parameter" if kind == "parameters" else "artifact"
            declared = ", ".join(sorted(outputs)) or "none"
            raise SpecError(
                f"reads output {noun} {key!r} of task {producer!r}, which declares no such "
                f"output (its output {noun}s: {declared})",
                task=where,
                field=fld,
            )

    def check_iterator(self, task: dict[str, Any], kind: str, where: str) -> None:
        iterator = task.get("parameterIterator")
        if iterator:
            items = iterator.get("items") or {}
            if "raw" in items:
                try:
                    raw = json.loads(items["raw"])
                except (TypeError, json.JSONDecodeError):
                    raw = None
                if not isinstance(raw, list):
                    raise SpecError(
                        "loop items are not a JSON list",
                        task=where,
                        field="parameterIterator.items.raw",
                    )
            elif "inputParameter" in items:
                if items["inputParameter"] not in (
                    (task.get("inputs") or {}).get("parameters") or {}
                ):
                    raise SpecError(
                        f"loops over {items['inputParameter']!r}, which is not one of its inputs",
                        task=where,
                        field="parameterIterator.items.inputParameter",
                    )
            else:
                raise SpecError("loop has no items", task=where, field="parameterIterator.items")
        art_iterator = task.get("artifactIterator")
        if art_iterator:
            wanted = (art_iterator.get("items") or {}).get("inputArtifact", "")
            if wanted not in ((task.get("inputs") or {}).get("artifacts") or {}):
                raise SpecError(
                    f"loops over artifact {wanted!r}, which is not one of its inputs",
                    task=where,
                    field="artifactIterator.items.inputArtifact",
                )
        if (iterator or art_iterator) and kind != "dag":
            raise SpecError("only a DAG task can loop", task=where, field="parameterIterator")

    def check_dag_outputs(self, component: dict[str, Any], path: str) -> None:
        dag = component.get("dag") or {}
        tasks = dag.get("tasks") or {}
        outputs = dag.get("outputs") or {}
        for key, source in (outputs.get("parameters") or {}).items():
            selectors = []
            if "valueFromParameter" in source:
                selectors = [source["valueFromParameter"]]
            elif "valueFromOneof" in source:
                selectors = source["valueFromOneof"].get("parameterSelectors") or []
            for sel in selectors:
                self.check_output(
                    tasks,
                    sel.get("producerSubtask", ""),
                    sel.get("outputParameterKey", ""),
                    "parameters",
                    path,
                    f"dag.outputs.parameters[{key!r}]",
                )
        for key, source in (outputs.get("artifacts") or {}).items():
            for sel in source.get("artifactSelectors") or []:
                self.check_output(
                    tasks,
                    sel.get("producerSubtask", ""),
                    sel.get("outputArtifactKey", ""),
                    "artifacts",
                    path,
                    f"dag.outputs.artifacts[{key!r}]",
                )


def _compile_cel(
    compile_: Callable[[str], _Compiled], text: Any, where: str, fld: str
) -> _Compiled:
    try:
        return compile_(text)
    except cel.CelError as exc:
        raise SpecError(exc.detail, task=where, field=fld) from None


def _check_condition_reads(condition: cel.Condition, given: set[str], where: str) -> None:
    """A condition reads only the task's own inputs: KFP evaluates it on them alone."""
    for name in sorted(condition.reads - given):
        inputs = ", ".join(repr(k) for k in sorted(given)) or "none"
        raise SpecError(
            f"condition {condition.text!r} reads parameter {name!r}, which is not one of the "
            f"task's inputs (its inputs: {inputs}): add it to the task's inputs.parameters "
            "or correct the name",
            task=where,
            field="triggerPolicy.condition",
        )


def _check_acyclic(plans: dict[str, TaskPlan], path: str) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            raise SpecError(
                f"tasks form a cycle: {' -> '.join(cycle)}; remove one of these dependencies",
                task=path if path != ROOT else cycle[0],
                field="dependentTasks",
            )
        state[name] = 1
        for dep in sorted(plans[name].upstream):
            if dep in plans:
                visit(dep, [*trail, name])
        state[name] = 2

    for name in sorted(plans):
        visit(name, [])
