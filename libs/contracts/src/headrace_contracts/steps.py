"""Steps of a run: the scheduler says what is ready, the launcher says what happened
(area ``step``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event
from .common import ArtifactRef, JsonValue, Resources, Value


class StepInputs(Value):
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)


class StepOutputSpec(Value):
    """What a step must produce: parameter types and where each artifact goes."""

    parameters: dict[str, str] = Field(default_factory=dict, description="name -> KFP type")
    artifacts: dict[str, ArtifactRef] = Field(default_factory=dict)


class StepReady(Event):
    """A step whose inputs are all resolved; the launcher runs it."""

    AREA = "step"
    NAME = "ready"

    run_id: str
    step_id: str = Field(description="unique in the run, e.g. 'root/for-loop-2[3]/train'")
    task_name: str
    attempt: int = 1
    executor: dict[str, Any] = Field(description="KFP PipelineContainerSpec (or importer) JSON")
    component: dict[str, Any] = Field(default_factory=dict, description="ComponentSpec JSON")
    inputs: StepInputs = Field(default_factory=StepInputs)
    outputs: StepOutputSpec = Field(default_factory=StepOutputSpec)
    resources: Resources = Field(default_factory=Resources)
    platform: dict[str, Any] = Field(
        default_factory=dict,
        description="kfp-kubernetes KubernetesExecutorConfig JSON of this step's executor "
        "(node selectors, tolerations, secrets, volumes, ...); empty when the pipeline has none",
    )
    cache_key: str = ""
    allow_host_containers: bool = False
    timeout_seconds: float | None = None
    not_before: str = Field(
        default="", description="ISO 8601 time; a retry waits until then before it starts"
    )
    pipeline_name: str = ""


class StepStarted(Event):
    AREA = "step"
    NAME = "started"

    run_id: str
    step_id: str
    attempt: int = 1
    backend: str = "local"
    worker: str = ""
    notices: list[str] = Field(
        default_factory=list,
        description="what the backend did not apply for this step (platform settings it "
        "cannot honour, limits it cannot enforce), said once; also in the step log",
    )
    log_uri: str = Field(
        default="",
        description="where the step's log is copied while it runs (and kept after)",
    )


class StepSucceeded(Event):
    AREA = "step"
    NAME = "succeeded"

    run_id: str
    step_id: str
    attempt: int = 1
    output_parameters: dict[str, JsonValue] = Field(default_factory=dict)
    output_artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)
    log_uri: str = ""
    duration_seconds: float = 0.0
    worker: str = Field(
        default="",
        description="the launcher replica that ran it (as in StepStarted, which a replica "
        "sharing the scheduler's consumer may handle after this)",
    )


class StepFailed(Event):
    AREA = "step"
    NAME = "failed"

    run_id: str
    step_id: str
    attempt: int = 1
    reason: str
    exit_code: int | None = None
    stderr_tail: str = ""
    log_uri: str = ""
    worker: str = Field(default="", description="the launcher replica that ran it, if any")


class StepSkipped(Event):
    """Not run: its condition was false or an upstream step failed."""

    AREA = "step"
    NAME = "skipped"

    run_id: str
    step_id: str
    reason: str = ""
    kind: str = Field(
        default="", description="container, importer, dag, loop or iteration ('' if not said)"
    )


class StepCached(Event):
    """Not run: an earlier successful execution with the same cache key is reused."""

    AREA = "step"
    NAME = "cached"

    run_id: str
    step_id: str
    cache_key: str
    source_run_id: str = ""
    source_step_id: str = ""
    output_parameters: dict[str, JsonValue] = Field(default_factory=dict)
    output_artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)


class CancelStep(Command):
    """Stop a running step: SIGTERM, then SIGKILL after ``grace_seconds``."""

    AREA = "step"
    NAME = "cancel"

    run_id: str
    step_id: str
    grace_seconds: float = 10.0
    reason: str = ""


class StepCancelled(Event):
    AREA = "step"
    NAME = "cancelled"

    run_id: str
    step_id: str
    reason: str = ""
