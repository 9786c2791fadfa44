"""Model serving: KServe InferenceServices, replicas and traffic (area ``inferenceservice``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Command, Event


class ApplyInferenceService(Command):
    """Create or update a deployment; ``spec`` is a KServe InferenceService as JSON."""

    AREA = "inferenceservice"
    NAME = "apply"

    service_name: str
    spec: dict[str, Any]
    namespace: str = "default"


class InferenceServiceReady(Event):
    AREA = "inferenceservice"
    NAME = "ready"

    service_name: str
    url: str
    model_name: str = ""
    model_version: int | None = None
    revision: str = ""
    replicas: int = 1


class InferenceServiceFailed(Event):
    AREA = "inferenceservice"
    NAME = "failed"

    service_name: str
    reason: str
    revision: str = ""


class ShiftTraffic(Command):
    """Send ``canary_percent`` of requests to the latest revision, the rest to the stable one."""

    AREA = "inferenceservice"
    NAME = "shift_traffic"

    service_name: str
    canary_percent: int = Field(ge=0, le=100)


class TrafficShifted(Event):
    AREA = "inferenceservice"
    NAME = "traffic_shifted"

    service_name: str
    canary_percent: int
    stable_revision: str = ""
    canary_revision: str = ""


class InferenceServiceScaled(Event):
    AREA = "inferenceservice"
    NAME = "scaled"

    service_name: str
    replicas: int
    revision: str = ""


class DeleteInferenceService(Command):
    AREA = "inferenceservice"
    NAME = "delete"

    service_name: str
    namespace: str = "default"


class InferenceServiceDeleted(Event):
    AREA = "inferenceservice"
    NAME = "deleted"

    service_name: str
