"""What one execution of a step produced: the executor's result, as JSON for a pod."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from headrace_contracts import ArtifactRef

__all__ = ["Metric", "Outcome", "Status"]

Status = Literal["succeeded", "failed", "cancelled"]


class Metric(BaseModel):
    """One scalar from a ``system.Metrics`` output artifact's metadata."""

    model_config = ConfigDict(frozen=True)

    output_name: str
    name: str
    value: float


class Outcome(BaseModel):
    """The result of `execute`; the launcher turns it into step events."""

    model_config = ConfigDict(frozen=True)

    status: Status
    reason: str = ""
    exit_code: int | None = None
    stderr_tail: str = ""
    log_uri: str = ""
    duration_seconds: float = 0.0
    output_parameters: dict[str, Any] = Field(default_factory=dict)
    output_artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)
    metrics: list[Metric] = Field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"
