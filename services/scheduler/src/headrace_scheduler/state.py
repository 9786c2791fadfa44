"""A run's state: the run's own fields and the nodes of its DAG, their inputs and outputs.

Node ids are paths: ``train`` at the root, ``inner/train`` inside a sub-pipeline,
``for-loop-2[3]/add`` inside the fourth iteration of a loop. The root DAG is the node ``""``.

The store keeps the run's own fields and each node apart, and saves only the nodes an event
changed: a run records which of its nodes were added or had a field set since it was last
saved (:meth:`RunState.take_changes`). Setting a field marks its node; code that changes a
node's list or dict in place (``children.append``) marks it with :meth:`RunState.touch`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from headrace_contracts.run_views import RUN_FINAL_STATES

ACTIVE = frozenset({"READY", "RUNNING"})
TERMINAL = frozenset({"SUCCEEDED", "CACHED", "FAILED", "SKIPPED", "CANCELLED"})


class Node(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    task: str
    kind: str = Field(description="container, importer, dag, loop or iteration")
    scope: str = Field(description="id of the enclosing DAG, loop or iteration node")
    component: str
    state: str = "PENDING"
    attempt: int = 0
    parameters: dict[str, Any] = Field(default_factory=dict)
    artifacts: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    out_parameters: dict[str, Any] = Field(default_factory=dict)
    out_artifacts: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    reason: str = ""
    exit_code: int | None = None
    upstream_failed: bool = Field(default=False, description="skipped because of a failure")
    stopping: bool = False
    log_uri: str = ""
    worker: str = ""
    cached: bool = False
    cache_source: str = ""
    cache_key: str = ""
    not_before: str = ""
    started_at: str = ""
    finished_at: str = ""
    duration: float | None = None
    children: list[str] = Field(default_factory=list)
    items: list[Any] | None = None
    item_input: str = ""
    limit: int = 0
    index: int | None = None
    running: int | None = Field(
        default=None, description="a loop's iterations now RUNNING (None: count them)"
    )
    ended: int | None = Field(
        default=None, description="a loop's iterations that have ended (None: count them)"
    )
    next_start: int | None = Field(
        default=None, description="index of a loop's first iteration not yet looked at"
    )

    _changes: set[str] | None = PrivateAttr(default=None)
    _seq: int = PrivateAttr(default=0)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if not name.startswith("_"):
            changes = self._changes
            if changes is not None:
                changes.add(self.id)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def failure(self) -> bool:
        """Failed, cancelled, or skipped because something upstream failed."""
        return self.state in ("FAILED", "CANCELLED") or (
            self.state == "SKIPPED" and self.upstream_failed
        )


class RunState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    pipeline_name: str = ""
    display_name: str = ""
    experiment: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    input_artifacts: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="the pipeline's own input artifacts, bound at submit"
    )
    enable_caching: bool = True
    allow_host_containers: bool = False
    state: str = "PENDING"
    error: str = ""
    failed_steps: list[str] = Field(default_factory=list)
    failing: bool = False
    cancelling: bool = False
    cancel_reason: str = ""
    created_at: str = ""
    finished_at: str = ""
    out_parameters: dict[str, Any] = Field(default_factory=dict)
    out_artifacts: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    nodes: dict[str, Node] = Field(default_factory=dict)
    revision: str = Field(
        default="",
        description="new at every save: a cached state is trusted while the stored run has it",
    )

    _changes: set[str] = PrivateAttr(default_factory=set)
    _next_seq: int = PrivateAttr(default=0)

    def model_post_init(self, context: Any, /) -> None:
        for seq, node in enumerate(self.nodes.values()):
            node._changes = self._changes
            node._seq = seq
        self._next_seq = len(self.nodes)

    @property
    def finished(self) -> bool:
        return self.state in RUN_FINAL_STATES

    def add_node(self, node: Node) -> Node:
        """Put ``node`` into the run (a new node is a changed one)."""
        self.nodes[node.id] = node
        node._changes = self._changes
        node._seq = self._next_seq
        self._next_seq += 1
        self._changes.add(node.id)
        return node

    def attach(self, nodes: list[tuple[int, Node]]) -> None:
        """Give the run the nodes read from the store with their order, as saved (none
        changed)."""
        self.nodes = {}
        for seq, node in sorted(nodes, key=lambda found: found[0]):
            self.nodes[node.id] = node
            node._changes = self._changes
            node._seq = seq
            self._next_seq = max(self._next_seq, seq + 1)

    def touch(self, node_id: str) -> None:
        """Mark a node changed in place (a list or dict of it altered, not a field set)."""
        self._changes.add(node_id)

    def touch_all(self) -> None:
        self._changes.update(self.nodes)

    @staticmethod
    def order_of(node: Node) -> int:
        """Where ``node`` comes in its run's nodes (the order they were created in)."""
        return node._seq

    def take_changes(self) -> set[str]:
        """The ids of the nodes changed since the last call, forgetting them."""
        changes = set(self._changes)
        self._changes.clear()
        return changes


def child_id(scope: str, task: str) -> str:
    return f"{scope}/{task}" if scope else task


def iteration_id(loop: str, index: int) -> str:
    return f"{loop}[{index}]"
