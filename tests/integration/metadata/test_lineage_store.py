"""The lineage store is filled idempotently and in any arrival order, on a real database
(SQLite, and PostgreSQL when HEADRACE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import random

from lineage_events import DATASET, METRICS, MODEL, RUN, Store, feed, run_events
from sqlmodel import Session, select

from headrace_contracts import StepCancelled
from headrace_metadata.lineage.tables import (
    LineageArtifact,
    LineageExecution,
    LineageType,
)


def test_a_run_is_recorded_as_a_graph_of_artifacts_executions_and_contexts(store: Store) -> None:
    engine = store("inorder")
    rows = feed(engine, run_events())
    executions = {(e["step_id"], e["state"], e["attempt"]) for e in rows["lineage_executions"]}
    assert executions == {("train", "COMPLETE", 2), ("evaluate", "COMPLETE", 1)}
    events = {
        (e["step_id"], e["kind"], e["port"], e["uri"], e["list_index"])
        for e in rows["lineage_events"]
    }
    assert events == {
        ("train", "INPUT", "data", DATASET.uri, 0),
        ("train", "OUTPUT", "model", MODEL.uri, 0),
        ("evaluate", "INPUT", "model", MODEL.uri, 0),
        ("evaluate", "OUTPUT", "metrics", METRICS.uri, 0),
    }
    contexts = {(c["type_name"], c["name"], c["state"]) for c in rows["lineage_contexts"]}
    assert contexts == {
        ("system.PipelineRun", RUN, "SUCCEEDED"),
        ("system.Pipeline", "churn", ""),
        ("system.Experiment", "churn-exp", ""),
    }
    parents = {(p["child_name"], p["parent_name"]) for p in rows["lineage_parent_contexts"]}
    assert parents == {(RUN, "churn"), (RUN, "churn-exp")}
    assert {a["uri"] for a in rows["lineage_attributions"]} == {DATASET.uri, MODEL.uri, METRICS.uri}
    associations = {(a["context_type"], a["step_id"]) for a in rows["lineage_associations"]}
    assert associations == {
        ("system.PipelineRun", "train"),
        ("system.PipelineRun", "evaluate"),
        ("system.Pipeline", "train"),
        ("system.Pipeline", "evaluate"),
    }
    with Session(engine) as session:
        model = session.exec(select(LineageArtifact).where(LineageArtifact.uri == MODEL.uri)).one()
        assert (model.type_name, model.digest, model.size, model.state) == (
            "system.Model",
            "sha256:abc",
            12,
            "LIVE",
        )
        assert model.properties == {"framework": "sklearn"}
        evaluate = session.exec(
            select(LineageExecution).where(LineageExecution.step_id == "evaluate")
        ).one()
        assert evaluate.properties["metric.accuracy"] == 0.97
        train = session.exec(
            select(LineageExecution).where(LineageExecution.step_id == "train")
        ).one()
        assert train.properties["input_parameters"] == {"epochs": 3}
        assert train.properties["exit_code"] == 137  # the first attempt's failure is kept
        execution_type = session.exec(
            select(LineageType).where(
                LineageType.kind == "execution", LineageType.name == "system.ContainerExecution"
            )
        ).one()
        assert execution_type.properties["metric.accuracy"] == "DOUBLE"
        assert execution_type.properties["exit_code"] == "INT"
        assert execution_type.properties["input_parameters"] == "STRUCT"


def test_events_out_of_order_and_twice_give_the_same_store(store: Store) -> None:
    messages = run_events()
    expected = feed(store("inorder"), messages)
    assert feed(store("reversed"), [*reversed(messages), *messages]) == expected
    shuffled = [*messages, *messages[3:9]]
    random.Random(8).shuffle(shuffled)
    assert feed(store("shuffled"), shuffled) == expected


def test_a_step_event_before_its_run_is_kept_and_completed_when_the_run_arrives(
    store: Store,
) -> None:
    engine = store("early")
    messages = run_events()
    early = feed(engine, [messages[-2]])  # the evaluate step's success, before anything else
    assert [(e["step_id"], e["state"]) for e in early["lineage_executions"]] == [
        ("evaluate", "COMPLETE")
    ]
    assert [(c["type_name"], c["state"]) for c in early["lineage_contexts"]] == [
        ("system.PipelineRun", "")
    ]
    rows = feed(engine, messages)
    assert rows == feed(store("inorder"), messages)
    evaluate = next(e for e in rows["lineage_executions"] if e["step_id"] == "evaluate")
    assert (evaluate["name"], evaluate["state"]) == ("evaluate", "COMPLETE")


def test_a_cancelled_step_stays_cancelled_whatever_arrives_after(store: Store) -> None:
    messages = run_events()
    cancelled = StepCancelled(run_id=RUN, step_id="evaluate", reason="user")
    engine = store("cancelled")
    rows = feed(engine, [*messages[:11], cancelled, messages[10], messages[9]])
    states = {e["step_id"]: e["state"] for e in rows["lineage_executions"]}
    assert states == {"train": "COMPLETE", "evaluate": "CANCELED"}
