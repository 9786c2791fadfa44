"""The lineage of a real pipeline run (dataset → train → model → evaluate → metrics), asked
over the bus and with ``headrace lineage``, on SQLite and, in CI, PostgreSQL."""

import asyncio
import json
from pathlib import Path

import pytest
from lineage_pipeline import churn, metadata_service, wait_recorded
from pipeline_harness import Platform

from headrace.cli import main
from headrace_contracts import GetLineage, LineageGraph
from headrace_runtime import Settings


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    return settings_on_each_database


async def test_a_runs_lineage_is_the_graph_it_produced(
    platform: Platform, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,1\nb,2\n")
    run = await platform.run(churn, {"data": data.as_uri()})
    assert run.state == "SUCCEEDED", run.error
    await wait_recorded(metadata_service(platform.services), run.run_id)
    dataset = data.as_uri()
    model = run.steps[[s.step_id for s in run.steps].index("train")].output_artifacts["model"][0]
    evaluated = next(s for s in run.steps if s.step_id == "evaluate")
    metrics = evaluated.output_artifacts["metrics"][0]
    train_id, evaluate_id = f"execution:{run.run_id}/train", f"execution:{run.run_id}/evaluate"

    graph = await platform.bus.request(GetLineage(uri=dataset, direction="downstream"), timeout=5)
    assert isinstance(graph, LineageGraph)
    assert graph.error == ""
    assert graph.roots == [f"artifact:{dataset}"]
    kinds = {n.id: (n.type, n.state) for n in graph.nodes}
    assert kinds == {
        f"artifact:{dataset}": ("system.Dataset", "LIVE"),
        train_id: ("system.ContainerExecution", "COMPLETE"),
        f"artifact:{model.uri}": ("system.Model", "LIVE"),
        evaluate_id: ("system.ContainerExecution", "COMPLETE"),
        f"artifact:{metrics.uri}": ("system.Metrics", "LIVE"),
    }
    assert {(e.source, e.target, e.kind, e.port) for e in graph.edges} == {
        (f"artifact:{dataset}", train_id, "INPUT", "data"),
        (train_id, f"artifact:{model.uri}", "OUTPUT", "model"),
        (f"artifact:{model.uri}", evaluate_id, "INPUT", "model"),
        (evaluate_id, f"artifact:{metrics.uri}", "OUTPUT", "metrics"),
    }
    evaluate = next(n for n in graph.nodes if n.id == evaluate_id)
    assert evaluate.properties["metric.accuracy"] == 0.97
    logged = next(n for n in graph.nodes if n.id == f"artifact:{metrics.uri}")
    assert logged.properties == {"accuracy": 0.97}  # the Metrics artifact's metadata
    assert logged.digest.startswith("sha256:")

    upstream = await platform.bus.request(
        GetLineage(uri=metrics.uri, direction="upstream", hops=2), timeout=5
    )
    assert isinstance(upstream, LineageGraph)
    assert {n.id for n in upstream.nodes} == {
        f"artifact:{metrics.uri}",
        evaluate_id,
        f"artifact:{model.uri}",
    }

    async def headrace(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["lineage", *argv, "--nats-url", settings.nats_url])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = await headrace(dataset, "--downstream")
    assert (code, err) == (0, "")
    assert out == (
        f"{dataset}  [system.Dataset]\n"
        "  downstream:\n"
        f"  └── -> data: {run.run_id}/train  [system.ContainerExecution, COMPLETE]\n"
        f"      └── -> model: {model.uri}  [system.Model]\n"
        f"          └── -> model: {run.run_id}/evaluate  [system.ContainerExecution, COMPLETE]\n"
        f"              └── -> metrics: {metrics.uri}  [system.Metrics]\n"
    )
    code, out, err = await headrace(f"{run.run_id}/evaluate", "--upstream", "--hops", "1")
    assert (code, err) == (0, "")
    assert out == (
        f"{run.run_id}/evaluate  [system.ContainerExecution, COMPLETE]\n"
        "  upstream:\n"
        f"  └── <- model: {model.uri}  [system.Model]\n"
    )
    code, out, _ = await headrace(run.run_id, "--json")
    assert code == 0
    assert LineageGraph.model_validate(json.loads(out)).roots == [evaluate_id, train_id]
    code, out, _ = await headrace(model.uri, "--dot")
    assert code == 0
    assert out.startswith("digraph lineage {\n  rankdir=LR;\n")
    assert f'  "{train_id}" -> "artifact:{model.uri}" [label="model"];\n' in out
    assert f'  "artifact:{model.uri}" -> "{evaluate_id}" [label="model"];\n' in out
    assert out.endswith("}\n")

    code, out, err = await headrace(f"{run.run_id}/deploy")
    assert (code, out) == (2, "")
    assert err == (
        f"headrace: run {run.run_id} has no step deploy in lineage: check the step id "
        f"(`headrace run get {run.run_id}` lists its steps)\n"
    )
