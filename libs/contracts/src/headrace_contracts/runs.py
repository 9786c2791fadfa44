"""Pipeline runs: submitted, started, finished (area ``run``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event
from .common import ArtifactRef, JsonValue


class SubmitRun(Command):
    """Run a pipeline. ``pipeline_spec`` is a KFP v2 PipelineSpec (IR) as JSON."""

    AREA = "run"
    NAME = "submit"

    run_id: str = Field(description="chosen by the submitter; re-submitting the same id is a no-op")
    pipeline_spec: dict[str, Any]
    platform_spec: dict[str, Any] | None = None
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    display_name: str = ""
    experiment: str = "Default"
    enable_caching: bool = True
    allow_host_containers: bool = Field(
        default=False, description="run container components' commands on the host"
    )
    labels: dict[str, str] = Field(default_factory=dict)


class RunRejected(Event):
    """A SubmitRun that cannot run; ``reason`` names the task and field at fault."""

    AREA = "run"
    NAME = "rejected"

    run_id: str
    reason: str


class RunStarted(Event):
    AREA = "run"
    NAME = "started"

    run_id: str
    pipeline_name: str = ""
    step_count: int = 0


class RunSucceeded(Event):
    AREA = "run"
    NAME = "succeeded"

    run_id: str
    output_parameters: dict[str, JsonValue] = Field(default_factory=dict)
    output_artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)


class RunFailed(Event):
    AREA = "run"
    NAME = "failed"

    run_id: str
    reason: str
    failed_steps: list[str] = Field(default_factory=list)


class CancelRun(Command):
    AREA = "run"
    NAME = "cancel"

    run_id: str
    reason: str = "cancelled by user"


class RunCancelled(Event):
    AREA = "run"
    NAME = "cancelled"

    run_id: str
    reason: str = ""
