"""Lineage queries over the store: walk INPUT/OUTPUT events from an artifact, a step or a
run, upstream and/or downstream, a bounded number of hops (one query per hop and side)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from headrace_contracts import GetLineage, LineageEdge, LineageGraph, LineageNode

from .mapping import RUN
from .tables import LineageArtifact, LineageContext, LineageEvent, LineageExecution

__all__ = ["artifact_id", "execution_id", "get_lineage"]

Step = tuple[str, str]  # (run_id, step_id)


def artifact_id(uri: str) -> str:
    return f"artifact:{uri}"


def execution_id(run_id: str, step_id: str) -> str:
    return f"execution:{run_id}/{step_id}"


@dataclass
class _Walk:
    query: GetLineage
    artifacts: dict[str, LineageArtifact | None] = field(default_factory=dict)
    executions: dict[Step, LineageExecution | None] = field(default_factory=dict)
    edges: dict[tuple[str, str, str, str], LineageEdge] = field(default_factory=dict)

    def keep_artifact(self, row: LineageArtifact | None) -> bool:
        wanted = self.query.artifact_types
        return not wanted or (row is not None and row.type_name in wanted)

    def keep_execution(self, row: LineageExecution | None) -> bool:
        wanted = self.query.execution_types
        return not wanted or (row is not None and row.type_name in wanted)


def get_lineage(session: Session, query: GetLineage) -> LineageGraph:
    """The lineage graph ``query`` asks for, or a graph with only ``error`` set."""
    if bool(query.uri) == bool(query.run_id):
        return LineageGraph(
            error="ask for the lineage of one thing: an artifact URI, or a run id "
            "(with a step id for one step)"
        )
    if query.step_id and not query.run_id:
        return LineageGraph(error="a step id needs its run id: pass run_id too")
    walk = _Walk(query)
    roots_a: set[str] = set()
    roots_e: set[Step] = set()
    if query.uri:
        found = {u: r for u, r in _artifacts(session, [query.uri]).items() if r is not None}
        if not found:
            return LineageGraph(
                error=f"no artifact with URI {query.uri} is recorded in lineage: check the URI "
                "(`headrace run get RUN` lists each step's artifacts)"
            )
        walk.artifacts.update(found)
        roots_a = set(found)
    else:
        executions = _executions_of(session, query.run_id, query.step_id)
        if not executions:
            return LineageGraph(error=_no_run(session, query.run_id, query.step_id))
        walk.executions.update(executions)
        roots_e = set(executions)
    if query.direction in ("upstream", "both"):
        _walk(session, walk, roots_a, roots_e, upstream=True)
    if query.direction in ("downstream", "both"):
        _walk(session, walk, roots_a, roots_e, upstream=False)
    roots = [artifact_id(u) for u in sorted(roots_a)] + [execution_id(*s) for s in sorted(roots_e)]
    return _graph(walk, roots)


def _no_run(session: Session, run_id: str, step_id: str) -> str:
    run = session.exec(
        select(LineageContext).where(LineageContext.type_name == RUN, LineageContext.name == run_id)
    ).first()
    if run is None:
        return f"no run {run_id} is recorded in lineage: check the run id (`headrace run list`)"
    if step_id:
        return (
            f"run {run_id} has no step {step_id} in lineage: check the step id "
            f"(`headrace run get {run_id}` lists its steps)"
        )
    state = f" ({run.state})" if run.state else ""
    return f"run {run_id}{state} has no steps in lineage yet: none of its steps has been ready"


def _walk(
    session: Session, walk: _Walk, artifacts: set[str], executions: set[Step], *, upstream: bool
) -> None:
    seen_a, seen_e = set(artifacts), set(executions)
    frontier_a, frontier_e = set(artifacts), set(executions)
    # Upstream: an artifact came from the execution that wrote it (OUTPUT), an execution from
    # what it read (INPUT); downstream the other way round.
    from_artifact, from_execution = ("OUTPUT", "INPUT") if upstream else ("INPUT", "OUTPUT")
    for _ in range(walk.query.hops):
        if not frontier_a and not frontier_e:
            return
        events = _events_at(session, frontier_a, from_artifact, frontier_e, from_execution)
        reached_a = {e.uri for e in events if (e.run_id, e.step_id) in frontier_e} - seen_a
        reached_e = {(e.run_id, e.step_id) for e in events if e.uri in frontier_a} - seen_e
        new_a = {u: r for u, r in _artifacts(session, reached_a).items() if walk.keep_artifact(r)}
        new_e = {k: r for k, r in _executions(session, reached_e).items() if walk.keep_execution(r)}
        for uri in reached_a - set(new_a):
            seen_a.add(uri)  # filtered out: neither shown nor walked through
        for key in reached_e - set(new_e):
            seen_e.add(key)
        walk.artifacts.update(new_a)
        walk.executions.update(new_e)
        for e in events:
            step = (e.run_id, e.step_id)
            if e.uri in walk.artifacts and step in walk.executions:
                _edge(walk, e)
        seen_a |= set(new_a)
        seen_e |= set(new_e)
        frontier_a, frontier_e = set(new_a), set(new_e)


def _events_at(
    session: Session, uris: set[str], uri_kind: str, steps: set[Step], step_kind: str
) -> list[LineageEvent]:
    found: list[LineageEvent] = []
    for chunk in _chunks(sorted(uris)):
        found += session.exec(
            select(LineageEvent).where(
                col(LineageEvent.uri).in_(chunk), LineageEvent.kind == uri_kind
            )
        ).all()
    # By run, then matched by step here: no index serves a row-value (run, step) IN.
    for chunk_r in _chunks(sorted({run_id for run_id, _ in steps})):
        found += [
            event
            for event in session.exec(
                select(LineageEvent).where(
                    col(LineageEvent.run_id).in_(chunk_r), LineageEvent.kind == step_kind
                )
            )
            if (event.run_id, event.step_id) in steps
        ]
    return found


def _artifacts(session: Session, uris: Iterable[str]) -> dict[str, LineageArtifact | None]:
    wanted = sorted(set(uris))
    found: dict[str, LineageArtifact | None] = dict.fromkeys(wanted)
    for chunk in _chunks(wanted):
        for row in session.exec(select(LineageArtifact).where(col(LineageArtifact.uri).in_(chunk))):
            found[row.uri] = row
    return found


def _executions(session: Session, keys: Iterable[Step]) -> dict[Step, LineageExecution | None]:
    wanted = sorted(set(keys))
    found: dict[Step, LineageExecution | None] = dict.fromkeys(wanted)
    for chunk in _chunks(sorted({run_id for run_id, _ in wanted})):
        for row in session.exec(
            select(LineageExecution).where(col(LineageExecution.run_id).in_(chunk))
        ):
            if (row.run_id, row.step_id) in found:
                found[(row.run_id, row.step_id)] = row
    return found


def _executions_of(session: Session, run_id: str, step_id: str) -> dict[Step, Any]:
    where = [LineageExecution.run_id == run_id]
    if step_id:
        where.append(LineageExecution.step_id == step_id)
    rows = session.exec(select(LineageExecution).where(*where)).all()
    return {(r.run_id, r.step_id): r for r in rows}


def _edge(walk: _Walk, e: LineageEvent) -> None:
    artifact, execution = artifact_id(e.uri), execution_id(e.run_id, e.step_id)
    source, target = (artifact, execution) if e.kind == "INPUT" else (execution, artifact)
    walk.edges[(source, target, e.kind, e.port)] = LineageEdge(
        source=source, target=target, kind=e.kind, port=e.port, index=e.list_index
    )


def _graph(walk: _Walk, roots: list[str]) -> LineageGraph:
    nodes = [_artifact_node(uri, row) for uri, row in sorted(walk.artifacts.items())]
    nodes += [_execution_node(key, row) for key, row in sorted(walk.executions.items())]
    edges = [walk.edges[k] for k in sorted(walk.edges)]
    return LineageGraph(roots=roots, nodes=nodes, edges=edges)


def _artifact_node(uri: str, row: LineageArtifact | None) -> LineageNode:
    if row is None:
        return LineageNode(id=artifact_id(uri), kind="artifact", type="system.Artifact", uri=uri)
    return LineageNode(
        id=artifact_id(uri),
        kind="artifact",
        type=row.type_name,
        name=row.name,
        state=row.state,
        uri=uri,
        digest=row.digest,
        size=row.size,
        properties=row.properties,
    )


def _execution_node(key: Step, row: LineageExecution | None) -> LineageNode:
    run_id, step_id = key
    base = {"id": execution_id(run_id, step_id), "kind": "execution"}
    if row is None:
        return LineageNode(**base, type="system.ContainerExecution", run_id=run_id, step_id=step_id)
    return LineageNode(
        **base,
        type=row.type_name,
        name=row.name,
        state=row.state,
        run_id=run_id,
        step_id=step_id,
        properties=row.properties,
    )


def _chunks(values: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
