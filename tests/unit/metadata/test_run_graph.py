"""A run's pipeline as the dashboard draws it: every task, nested as its steps' ids are,
with the tasks each waits for (``dependentTasks`` and the producers of what it reads)."""

from __future__ import annotations

from typing import Any

from headrace_metadata.runs.graph import pipeline_graph


def task(ref: str, **more: Any) -> dict[str, Any]:
    return {"componentRef": {"name": ref}, "taskInfo": {"name": ref}, **more}


SPEC: dict[str, Any] = {
    "root": {
        "dag": {
            "tasks": {
                "prep": task("comp-prep"),
                "train": task(
                    "comp-train",
                    inputs={
                        "artifacts": {
                            "data": {
                                "taskOutputArtifact": {
                                    "producerTask": "prep",
                                    "outputArtifactKey": "d",
                                }
                            }
                        }
                    },
                ),
                "for-loop-2": task(
                    "comp-for-loop-2",
                    dependentTasks=["train"],
                    parameterIterator={"items": {"raw": "[1, 2]"}, "itemInput": "x"},
                ),
                "condition-3": task(
                    "comp-condition-3", triggerPolicy={"condition": "inputs.x > 0"}
                ),
            }
        }
    },
    "components": {
        "comp-prep": {"executorLabel": "exec-prep"},
        "comp-train": {"executorLabel": "exec-train"},
        "comp-imp": {"executorLabel": "exec-imp"},
        "comp-for-loop-2": {"dag": {"tasks": {"double": task("comp-train")}}},
        "comp-condition-3": {"dag": {"tasks": {"fetch": task("comp-imp")}}},
    },
    "deploymentSpec": {
        "executors": {
            "exec-prep": {"container": {}},
            "exec-train": {"container": {}},
            "exec-imp": {"importer": {}},
        }
    },
}


def test_every_task_nested_by_path_with_what_it_waits_for() -> None:
    found = {t.path: t for t in pipeline_graph(SPEC)}
    assert list(found) == [
        "prep",
        "train",
        "for-loop-2",
        "for-loop-2/double",
        "condition-3",
        "condition-3/fetch",
    ]
    assert found["train"].upstream == ["prep"]
    assert found["for-loop-2"].kind == "loop"
    assert found["for-loop-2"].iterator == "[1, 2]"
    assert found["for-loop-2"].upstream == ["train"]
    assert found["for-loop-2/double"].parent == "for-loop-2"
    assert found["condition-3"].kind == "condition"
    assert found["condition-3"].condition == "inputs.x > 0"
    assert found["condition-3/fetch"].kind == "importer"
    assert found["prep"].kind == "container"
    assert found["prep"].upstream == []
