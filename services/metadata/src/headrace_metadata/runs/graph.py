"""A run's pipeline as a graph of tasks (pure): every task of every DAG, nested by path as
the scheduler names steps ("for-loop-2/double" is task "double" of loop "for-loop-2", whose
iterations run as "for-loop-2[0]/double", ...), with the tasks each one waits for."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["container", "importer", "dag", "loop", "condition"]


class GraphTask(BaseModel):
    path: str = Field(description="the step id its runs take, without loop iteration indexes")
    name: str
    kind: Kind
    parent: str = Field(default="", description="path of the enclosing DAG task ('' at root)")
    upstream: list[str] = Field(
        default_factory=list, description="paths of the tasks of the same DAG it waits for"
    )
    condition: str = Field(default="", description="when it runs (a CEL expression)")
    iterator: str = Field(default="", description="a loop's items, as the spec gives them")


class RunGraph(BaseModel):
    run_id: str
    tasks: list[GraphTask]


def pipeline_graph(spec: dict[str, Any]) -> list[GraphTask]:
    """Every task of ``spec`` (a PipelineSpec as JSON), parents before their children."""
    found: list[GraphTask] = []
    _visit(spec, spec.get("root") or {}, "", found, seen=set())
    return found


def _visit(
    spec: dict[str, Any],
    component: dict[str, Any],
    scope: str,
    found: list[GraphTask],
    seen: set[str],
) -> None:
    tasks = (component.get("dag") or {}).get("tasks") or {}
    components = spec.get("components") or {}
    for name, task in tasks.items():
        path = f"{scope}/{name}" if scope else name
        child = components.get((task.get("componentRef") or {}).get("name", "")) or {}
        condition = str((task.get("triggerPolicy") or {}).get("condition") or "")
        iterator = task.get("parameterIterator") or task.get("artifactIterator")
        found.append(
            GraphTask(
                path=path,
                name=name,
                kind=_kind(spec, child, condition, iterator),
                parent=scope,
                upstream=[f"{scope}/{u}" if scope else u for u in _upstream(task) if u in tasks],
                condition=condition,
                iterator=_items(iterator),
            )
        )
        ref = (task.get("componentRef") or {}).get("name", "")
        if "dag" in child and ref not in seen:  # a DAG cannot contain itself; guard anyway
            _visit(spec, child, path, found, seen | {ref})


def _kind(spec: dict[str, Any], component: dict[str, Any], condition: str, iterator: Any) -> Kind:
    if "dag" in component:
        if iterator:
            return "loop"
        return "condition" if condition else "dag"
    label = component.get("executorLabel", "")
    executors = (spec.get("deploymentSpec") or {}).get("executors") or {}
    return "importer" if "importer" in (executors.get(label) or {}) else "container"


def _upstream(task: dict[str, Any]) -> list[str]:
    """``dependentTasks`` and every task whose output it reads, in order, once each."""
    names = list(task.get("dependentTasks") or [])
    inputs = task.get("inputs") or {}
    for value in (inputs.get("parameters") or {}).values():
        names.append(((value or {}).get("taskOutputParameter") or {}).get("producerTask", ""))
    for value in (inputs.get("artifacts") or {}).values():
        names.append(((value or {}).get("taskOutputArtifact") or {}).get("producerTask", ""))
    return [n for n in dict.fromkeys(names) if n]


def _items(iterator: Any) -> str:
    if not isinstance(iterator, dict):
        return ""
    items = iterator.get("items") or {}
    return str(items.get("raw") or items.get("inputParameter") or items.get("inputArtifact") or "")
