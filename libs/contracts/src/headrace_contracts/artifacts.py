"""Artifacts and metrics written by workloads (areas ``artifact`` and ``metric``)."""

from __future__ import annotations

from pydantic import Field

from .base import Event, Query, Reply
from .common import ArtifactRef


class ArtifactWritten(Event):
    """An artifact is in the store; lineage records it against its producer."""

    AREA = "artifact"
    NAME = "written"

    artifact: ArtifactRef
    run_id: str = ""
    step_id: str = ""
    output_name: str = ""
    producer: str = Field(default="", description="execution that wrote it, e.g. a trial id")


class MetricReported(Event):
    """One scalar metric from a step, trial or training job."""

    AREA = "metric"
    NAME = "reported"

    metric: str = Field(description="metric name, e.g. 'accuracy'")
    value: float
    run_id: str = ""
    step_id: str = ""
    trial_id: str = ""
    job_id: str = ""
    step: int | None = Field(default=None, description="epoch or iteration")


class ArtifactRecord(Reply):
    artifact: ArtifactRef
    run_id: str = ""
    step_id: str = ""
    output_name: str = ""
    event_id: str = ""


class ArtifactList(Reply):
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    total: int = 0


class ListArtifacts(Query):
    """Artifacts recorded by the metadata service, newest first."""

    AREA = "artifact"
    NAME = "list"
    REPLY = ArtifactList

    run_id: str = ""
    limit: int = Field(default=100, ge=1, le=10_000)
