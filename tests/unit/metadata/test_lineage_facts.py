"""From events to lineage facts, and how facts merge into rows (pure, no database)."""

from __future__ import annotations

import itertools
from functools import reduce
from typing import Any

from headrace_contracts import ArtifactRef, ArtifactWritten, StepInputs, StepReady
from headrace_metadata.lineage.facts import (
    ArtifactFact,
    AssociationFact,
    AttributionFact,
    ContextFact,
    EventFact,
    ExecutionFact,
    Fact,
    property_kinds,
)
from headrace_metadata.lineage.mapping import PIPELINE, RUN, facts_for

DATA = ArtifactRef(uri="file:///d/a.csv", schema_title="system.Dataset")
MORE = ArtifactRef(uri="file:///d/b.csv", schema_title="system.Dataset")


def fold(facts: list[Fact]) -> dict[str, Any] | None:
    return reduce(lambda row, fact: fact.merge(row), facts, None)


def test_a_ready_step_reads_each_input_artifact_on_its_port_and_index() -> None:
    ready = StepReady(
        run_id="r",
        step_id="train",
        task_name="train",
        executor={"container": {}},
        inputs=StepInputs(artifacts={"data": [DATA, MORE]}),
        pipeline_name="p",
    )
    facts = list(facts_for(ready))
    assert [f for f in facts if isinstance(f, EventFact)] == [
        EventFact("r", "train", DATA.uri, "INPUT", "data", 0),
        EventFact("r", "train", MORE.uri, "INPUT", "data", 1),
    ]
    assert [f for f in facts if isinstance(f, AssociationFact)] == [
        AssociationFact(RUN, "r", "r", "train"),
        AssociationFact(PIPELINE, "p", "r", "train"),
    ]
    assert AttributionFact(RUN, "r", MORE.uri) in facts
    importer = ready.model_copy(update={"executor": {"importer": {}}})
    first = next(iter(facts_for(importer)))
    assert isinstance(first, ExecutionFact)
    assert first.type_name == "system.ImporterExecution"


def test_an_artifact_from_no_step_is_only_an_artifact() -> None:
    written = ArtifactWritten(artifact=DATA, producer="trial-3")
    assert list(facts_for(written)) == [
        ArtifactFact(DATA.uri, "system.Dataset", is_dir=False),
        ArtifactFact(DATA.uri, properties={"producer": "trial-3"}),
    ]


def test_an_executions_state_is_the_same_in_any_arrival_order() -> None:
    facts: list[Fact] = [
        ExecutionFact("r", "s", "system.ContainerExecution", "s", "NEW", 1),
        ExecutionFact("r", "s", state="RUNNING", attempt=1),
        ExecutionFact("r", "s", state="FAILED", attempt=1, properties={"reason": "oom"}),
        ExecutionFact("r", "s", "system.ContainerExecution", "s", "NEW", 2),
        ExecutionFact("r", "s", state="RUNNING", attempt=2),
        ExecutionFact("r", "s", state="COMPLETE", attempt=2, properties={"duration": 1.5}),
        ExecutionFact("r", "s", properties={"metric.acc": 0.9}),
    ]
    rows = [fold(list(order)) for order in itertools.permutations(facts)]
    assert all(row == rows[0] for row in rows)
    assert rows[0] == {
        "run_id": "r",
        "step_id": "s",
        "type_name": "system.ContainerExecution",
        "name": "s",
        "state": "COMPLETE",
        "attempt": 2,
        "properties": {"reason": "oom", "duration": 1.5, "metric.acc": 0.9},
    }


def test_a_runs_state_only_moves_forward_and_a_placeholder_is_filled() -> None:
    row = fold([ContextFact(RUN, "r", "SUCCEEDED"), ContextFact(RUN, "r", "RUNNING", {"n": 2})])
    assert row == {"type_name": RUN, "name": "r", "state": "SUCCEEDED", "properties": {"n": 2}}
    placeholder = fold([ArtifactFact(DATA.uri, properties={"producer": "t"})])
    assert placeholder is not None
    assert placeholder["type_name"] == "system.Artifact"
    filled = ArtifactFact(DATA.uri, "system.Dataset", digest="sha256:1", size=3).merge(placeholder)
    assert (filled["type_name"], filled["digest"], filled["size"]) == (
        "system.Dataset",
        "sha256:1",
        3,
    )
    assert filled["properties"] == {"producer": "t"}


def test_property_types_follow_ml_metadata() -> None:
    assert property_kinds({"a": 1, "b": 0.5, "c": "x", "d": True, "e": {"k": 1}, "f": None}) == {
        "a": "INT",
        "b": "DOUBLE",
        "c": "STRING",
        "d": "BOOLEAN",
        "e": "STRUCT",
    }
