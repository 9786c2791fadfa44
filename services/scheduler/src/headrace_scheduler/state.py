"""A run's whole state as one JSON document: the nodes of its DAG, their inputs and outputs.

Node ids are paths: ``train`` at the root, ``inner/train`` inside a sub-pipeline,
``for-loop-2[3]/add`` inside the fourth iteration of a loop. The root DAG is the node ``""``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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

    @property
    def finished(self) -> bool:
        return self.state in RUN_FINAL_STATES


def child_id(scope: str, task: str) -> str:
    return f"{scope}/{task}" if scope else task


def iteration_id(loop: str, index: int) -> str:
    return f"{loop}[{index}]"
