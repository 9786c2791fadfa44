"""A lineage graph as ``headrace lineage`` prints it: an indented tree or Graphviz DOT (pure)."""

from __future__ import annotations

import json
from collections import defaultdict

from headrace_contracts import LineageGraph, LineageNode

__all__ = ["render_dot", "render_tree"]


def label(node: LineageNode) -> str:
    if node.kind == "artifact":
        return f"{node.uri}  [{node.type}]"
    state = f", {node.state}" if node.state else ""
    return f"{node.run_id}/{node.step_id}  [{node.type}{state}]"


def render_tree(graph: LineageGraph, direction: str) -> str:
    """Each root, then what it came from (upstream) and/or what came of it (downstream), one
    level deeper per hop; a node met again is named but not expanded twice."""
    nodes = {n.id: n for n in graph.nodes}
    down: dict[str, list[tuple[str, str]]] = defaultdict(list)
    up: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for e in graph.edges:
        down[e.source].append((e.port, e.target))
        up[e.target].append((e.port, e.source))
    sides = [("upstream", up), ("downstream", down)]
    if direction != "both":
        sides = [s for s in sides if s[0] == direction]
    lines: list[str] = []
    for root in graph.roots:
        lines.append(label(nodes[root]))
        for name, children in sides:
            if not children.get(root):
                lines.append(f"  ({name}: nothing recorded)")
                continue
            arrow = "<-" if name == "upstream" else "->"
            lines.append(f"  {name}:")
            _branch(lines, nodes, children, root, arrow, "  ", {root})
    return "\n".join(lines)


def _branch(
    lines: list[str],
    nodes: dict[str, LineageNode],
    children: dict[str, list[tuple[str, str]]],
    at: str,
    arrow: str,
    indent: str,
    shown: set[str],
) -> None:
    listed = sorted(children.get(at, []))
    for i, (port, child) in enumerate(listed):
        last = i == len(listed) - 1
        again = " (shown above)" if child in shown else ""
        lines.append(
            f"{indent}{'└── ' if last else '├── '}{arrow} {port}: {label(nodes[child])}{again}"
        )
        if not again:
            shown.add(child)
            _branch(
                lines, nodes, children, child, arrow, indent + ("    " if last else "│   "), shown
            )


def render_dot(graph: LineageGraph) -> str:
    """Graphviz: artifacts as boxes, executions as ellipses, edges labelled by port."""
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for n in graph.nodes:
        if n.kind == "artifact":
            text, shape = f"{n.name or n.uri}\n{n.type}", "box"
        else:
            text, shape = f"{n.step_id}\n{n.state}", "ellipse"
        style = ", style=bold" if n.id in graph.roots else ""
        lines.append(f"  {_q(n.id)} [shape={shape}, label={_q(text)}{style}];")
    for e in graph.edges:
        lines.append(f"  {_q(e.source)} -> {_q(e.target)} [label={_q(e.port)}];")
    lines.append("}")
    return "\n".join(lines)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
