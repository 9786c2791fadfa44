"""``headrace lineage``: what the target names, and how a graph prints (pure)."""

from __future__ import annotations

import pytest

from headrace.cli import build_parser
from headrace.lineage_commands import lineage_query
from headrace.lineage_render import render_dot, render_tree
from headrace_contracts import GetLineage, LineageEdge, LineageGraph, LineageNode


def query(*argv: str) -> GetLineage:
    return lineage_query(build_parser().parse_args(["lineage", *argv]))


def test_the_target_is_a_uri_a_run_or_a_step() -> None:
    assert query("s3://bucket/m/model").uri == "s3://bucket/m/model"
    assert query("run-1").model_dump(include={"run_id", "step_id", "direction"}) == {
        "run_id": "run-1",
        "step_id": "",
        "direction": "both",
    }
    asked = query("run-1/root/loop[2]/train", "--upstream", "--hops", "3")
    assert (asked.run_id, asked.step_id, asked.direction, asked.hops) == (
        "run-1",
        "root/loop[2]/train",
        "upstream",
        3,
    )
    typed = query("run-1", "--artifact-type", "system.Model", "--artifact-type", "system.Dataset")
    assert typed.artifact_types == ["system.Model", "system.Dataset"]


@pytest.mark.parametrize("hops", ["0", "101", "two"])
def test_a_bad_hop_count_is_refused(hops: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["lineage", "run-1", "--hops", hops])
    assert f"expected a whole number of hops from 1 to 100, got '{hops}'" in capsys.readouterr().err


def _artifact(uri: str, kind: str = "system.Dataset") -> LineageNode:
    return LineageNode(id=f"artifact:{uri}", kind="artifact", type=kind, uri=uri, state="LIVE")


def _step(step: str) -> LineageNode:
    return LineageNode(
        id=f"execution:r/{step}",
        kind="execution",
        type="system.ContainerExecution",
        run_id="r",
        step_id=step,
        state="COMPLETE",
    )


# a diamond: one dataset read by two steps whose outputs one step joins
DIAMOND = LineageGraph(
    roots=["artifact:d"],
    nodes=[_artifact("d"), _artifact("x"), _artifact("y"), _step("a"), _step("b"), _step("j")],
    edges=[
        LineageEdge(source="artifact:d", target="execution:r/a", kind="INPUT", port="in"),
        LineageEdge(source="artifact:d", target="execution:r/b", kind="INPUT", port="in"),
        LineageEdge(source="execution:r/a", target="artifact:x", kind="OUTPUT", port="out"),
        LineageEdge(source="execution:r/b", target="artifact:y", kind="OUTPUT", port="out"),
        LineageEdge(source="artifact:x", target="execution:r/j", kind="INPUT", port="left"),
        LineageEdge(source="artifact:y", target="execution:r/j", kind="INPUT", port="right"),
    ],
)


def test_a_node_met_twice_is_expanded_once() -> None:
    assert render_tree(DIAMOND, "both") == (
        "d  [system.Dataset]\n"
        "  (upstream: nothing recorded)\n"
        "  downstream:\n"
        "  ├── -> in: r/a  [system.ContainerExecution, COMPLETE]\n"
        "  │   └── -> out: x  [system.Dataset]\n"
        "  │       └── -> left: r/j  [system.ContainerExecution, COMPLETE]\n"
        "  └── -> in: r/b  [system.ContainerExecution, COMPLETE]\n"
        "      └── -> out: y  [system.Dataset]\n"
        "          └── -> right: r/j  [system.ContainerExecution, COMPLETE] (shown above)"
    )


def test_dot_quotes_what_it_prints() -> None:
    graph = LineageGraph(
        roots=['artifact:file:///a "b"'],
        nodes=[_artifact('file:///a "b"')],
        edges=[],
    )
    assert render_dot(graph) == (
        "digraph lineage {\n"
        "  rankdir=LR;\n"
        '  "artifact:file:///a \\"b\\"" [shape=box, '
        'label="file:///a \\"b\\"\\nsystem.Dataset", style=bold];\n'
        "}"
    )
