"""Lineage queries over a real store: upstream, downstream, hops, type filters, and the
errors that name what was not found."""

from __future__ import annotations

import pytest
from lineage_events import DATASET, METRICS, MODEL, RUN, Store, feed, run_events
from sqlalchemy import Engine
from sqlmodel import Session

from headrace_contracts import GetLineage, LineageGraph
from headrace_metadata.lineage.graph import get_lineage

TRAIN = f"execution:{RUN}/train"
EVALUATE = f"execution:{RUN}/evaluate"


@pytest.fixture
def engine(store: Store) -> Engine:
    engine = store("graph")
    feed(engine, run_events())
    return engine


def ask(engine: Engine, **query: object) -> LineageGraph:
    with Session(engine) as session:
        return get_lineage(session, GetLineage.model_validate(query))


def edges(graph: LineageGraph) -> set[tuple[str, str, str, str]]:
    return {(e.source, e.target, e.kind, e.port) for e in graph.edges}


def test_downstream_of_the_dataset_reaches_the_metrics(engine: Engine) -> None:
    graph = ask(engine, uri=DATASET.uri, direction="downstream")
    assert graph.error == ""
    assert graph.roots == [f"artifact:{DATASET.uri}"]
    assert [(n.id, n.type, n.state) for n in graph.nodes] == [
        (f"artifact:{DATASET.uri}", "system.Dataset", "LIVE"),
        (f"artifact:{METRICS.uri}", "system.Metrics", "LIVE"),
        (f"artifact:{MODEL.uri}", "system.Model", "LIVE"),
        (EVALUATE, "system.ContainerExecution", "COMPLETE"),
        (TRAIN, "system.ContainerExecution", "COMPLETE"),
    ]
    assert edges(graph) == {
        (f"artifact:{DATASET.uri}", TRAIN, "INPUT", "data"),
        (TRAIN, f"artifact:{MODEL.uri}", "OUTPUT", "model"),
        (f"artifact:{MODEL.uri}", EVALUATE, "INPUT", "model"),
        (EVALUATE, f"artifact:{METRICS.uri}", "OUTPUT", "metrics"),
    }
    assert ask(engine, uri=DATASET.uri, direction="upstream").edges == []


def test_hops_bound_the_walk(engine: Engine) -> None:
    graph = ask(engine, uri=METRICS.uri, direction="upstream", hops=2)
    assert {n.id for n in graph.nodes} == {
        f"artifact:{METRICS.uri}",
        EVALUATE,
        f"artifact:{MODEL.uri}",
    }
    graph = ask(engine, uri=MODEL.uri, hops=1)  # both directions
    assert edges(graph) == {
        (TRAIN, f"artifact:{MODEL.uri}", "OUTPUT", "model"),
        (f"artifact:{MODEL.uri}", EVALUATE, "INPUT", "model"),
    }


def test_a_run_or_one_step_is_a_root(engine: Engine) -> None:
    graph = ask(engine, run_id=RUN)
    assert graph.roots == [EVALUATE, TRAIN]
    assert len(graph.nodes) == 5
    assert len(graph.edges) == 4
    graph = ask(engine, run_id=RUN, step_id="evaluate", direction="upstream")
    assert graph.roots == [EVALUATE]
    assert {n.id for n in graph.nodes} == {
        EVALUATE,
        TRAIN,
        f"artifact:{MODEL.uri}",
        f"artifact:{DATASET.uri}",
    }


def test_type_filters_keep_only_those_nodes(engine: Engine) -> None:
    graph = ask(engine, uri=DATASET.uri, direction="downstream", artifact_types=["system.Model"])
    assert {n.id for n in graph.nodes} == {
        f"artifact:{DATASET.uri}",
        TRAIN,
        f"artifact:{MODEL.uri}",
        EVALUATE,
    }
    graph = ask(engine, run_id=RUN, execution_types=["system.ImporterExecution"])
    assert graph.roots == [EVALUATE, TRAIN]
    assert len(graph.nodes) == 5  # the roots always stay, and what they read and wrote


def test_what_is_not_recorded_is_named(engine: Engine) -> None:
    assert ask(engine, uri="file:///nowhere").error == (
        "no artifact with URI file:///nowhere is recorded in lineage: check the URI "
        "(`headrace run get RUN` lists each step's artifacts)"
    )
    assert ask(engine, run_id="run-x").error == (
        "no run run-x is recorded in lineage: check the run id (`headrace run list`)"
    )
    assert ask(engine, run_id=RUN, step_id="deploy").error == (
        f"run {RUN} has no step deploy in lineage: check the step id "
        f"(`headrace run get {RUN}` lists its steps)"
    )
    assert ask(engine, uri=MODEL.uri, run_id=RUN).error.startswith(
        "ask for the lineage of one thing"
    )
