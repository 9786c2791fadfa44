"""The lineage graph the metadata service answers about (area ``lineage``): which artifacts
and executions led to an artifact, a step or a run, and what came of them. Request/reply,
never stored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Query, Reply
from .common import JsonValue, Value

Direction = Literal["upstream", "downstream", "both"]


class LineageNode(Value):
    """An artifact (``id`` ``artifact:<uri>``) or an execution, one step of one run (``id``
    ``execution:<run_id>/<step_id>``)."""

    id: str
    kind: Literal["artifact", "execution"]
    type: str = Field(description="e.g. system.Dataset, system.ContainerExecution")
    name: str = Field(default="", description="an artifact's output name, a step's task name")
    state: str = Field(default="", description="LIVE; NEW, RUNNING, COMPLETE, FAILED, ...")
    uri: str = ""
    run_id: str = ""
    step_id: str = ""
    digest: str = ""
    size: int | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)


class LineageEdge(Value):
    """An artifact read by an execution (``INPUT``: artifact → execution) or written by it
    (``OUTPUT``: execution → artifact), on the execution's ``port``."""

    source: str
    target: str
    kind: Literal["INPUT", "OUTPUT"]
    port: str = ""
    index: int | None = None


class LineageGraph(Reply):
    roots: list[str] = Field(default_factory=list, description="ids of the nodes asked about")
    nodes: list[LineageNode] = Field(default_factory=list)
    edges: list[LineageEdge] = Field(default_factory=list)
    error: str = Field(default="", description="why there is no graph, and what to do")


class GetLineage(Query):
    """The lineage of an artifact (``uri``), a step (``run_id`` and ``step_id``) or every
    step of a run (``run_id``): ``upstream`` follows what it came from, ``downstream`` what
    came of it, up to ``hops`` edges away. ``artifact_types`` and ``execution_types`` keep
    only nodes of those types: the walk does not go through the others (the roots always
    stay)."""

    AREA = "lineage"
    NAME = "get"
    REPLY = LineageGraph

    uri: str = ""
    run_id: str = ""
    step_id: str = ""
    direction: Direction = "both"
    hops: int = Field(default=5, ge=1, le=100)
    artifact_types: list[str] = Field(default_factory=list)
    execution_types: list[str] = Field(default_factory=list)
