"""Model serving: KServe InferenceServices, replicas and traffic (area ``inferenceservice``).

Every event names the service by ``service_name`` and ``namespace``. Besides the events of
each step, ``InferenceServiceUpdated`` (in ``serving_views``) carries the whole view after every
change, for read models (the metadata service folds it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import Command, Event, Telemetry


class ApplyInferenceService(Command):
    """Create or update a deployment; ``spec`` is a KServe InferenceService as JSON."""

    AREA = "inferenceservice"
    NAME = "apply"

    service_name: str
    spec: dict[str, Any]
    namespace: str = "default"
    request_id: str = Field(default="", description="repeated by InferenceServiceRejected")


class InferenceServiceReady(Event):
    AREA = "inferenceservice"
    NAME = "ready"

    service_name: str
    url: str
    model_name: str = ""
    model_version: int | None = None
    revision: str = ""
    replicas: int = 1
    namespace: str = "default"
    traffic_percent: int = Field(default=100, description="of requests the revision receives")


class InferenceServiceFailed(Event):
    AREA = "inferenceservice"
    NAME = "failed"

    service_name: str
    reason: str
    revision: str = ""
    namespace: str = "default"


class ShiftTraffic(Command):
    """Send ``canary_percent`` of requests to the canary revision, the rest to the stable one;
    100 promotes the canary, 0 rolls it back."""

    AREA = "inferenceservice"
    NAME = "shift_traffic"

    service_name: str
    canary_percent: int = Field(ge=0, le=100)
    namespace: str = "default"
    request_id: str = Field(default="", description="repeated by InferenceServiceRejected")


class TrafficShifted(Event):
    AREA = "inferenceservice"
    NAME = "traffic_shifted"

    service_name: str
    canary_percent: int
    stable_revision: str = ""
    canary_revision: str = ""
    namespace: str = "default"


class InferenceServiceScaled(Event):
    AREA = "inferenceservice"
    NAME = "scaled"

    service_name: str
    replicas: int
    revision: str = ""
    namespace: str = "default"


class DeleteInferenceService(Command):
    AREA = "inferenceservice"
    NAME = "delete"

    service_name: str
    namespace: str = "default"
    request_id: str = Field(default="", description="repeated by InferenceServiceRejected")


class InferenceServiceRejected(Event):
    """A command about an InferenceService that was not carried out: the service does not
    exist, the command makes no sense for it (a traffic shift without a canary revision), its
    name cannot be one, or the serving service gave up on it (``reason`` says which and what to
    do). ``command`` is ``apply``, ``shift_traffic`` or ``delete``; ``request_id`` repeats the
    command's, so its sender can wait for it."""

    AREA = "inferenceservice"
    NAME = "rejected"

    service_name: str
    namespace: str = "default"
    command: str
    reason: str
    request_id: str = ""


class InferenceServiceDeleted(Event):
    AREA = "inferenceservice"
    NAME = "deleted"

    service_name: str
    namespace: str = "default"


class InferenceRequestLogged(Event):
    """KServe's logger: a request body a revision received (``logger.mode`` all or request)."""

    AREA = "inferenceservice"
    NAME = "request_logged"

    service_name: str
    namespace: str = "default"
    revision: str = ""
    request_id: str = Field(description="the same for the request and its response")
    content_type: str = "application/json"
    body: str = Field(default="", description="the body as text (UTF-8, or base64 if binary)")
    body_encoding: str = Field(default="utf-8", description="utf-8 or base64")


class InferenceResponseLogged(Event):
    """KServe's logger: the response body a revision sent (``logger.mode`` all or response)."""

    AREA = "inferenceservice"
    NAME = "response_logged"

    service_name: str
    namespace: str = "default"
    revision: str = ""
    request_id: str = Field(description="the same for the request and its response")
    content_type: str = "application/json"
    body: str = Field(default="", description="the body as text (UTF-8, or base64 if binary)")
    body_encoding: str = Field(default="utf-8", description="utf-8 or base64")


class RevisionTraffic(BaseModel):
    """What one revision answered during a window (``revision`` empty: requests no revision
    took, e.g. answered 503 while none was ready)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    revision: str = ""
    requests: int = Field(description="requests answered in the window")
    errors: int = Field(default=0, description="of them, answered with a 5xx status")
    requests_per_second: float = Field(description="requests / window seconds")
    p50_ms: float = Field(description="median latency, arrival to answer, in milliseconds")
    p95_ms: float = Field(description="95th percentile latency in milliseconds")


class InferenceTrafficSummarized(Telemetry):
    """Telemetry, not stored: what an InferenceService's router served in the last window,
    per revision. Published every ``window_seconds`` (``HEADRACE_SERVING_TRAFFIC_INTERVAL``)
    for each service that answered requests in it; nothing for an idle service."""

    AREA = "inferenceservice"
    NAME = "traffic"

    service_name: str
    namespace: str = "default"
    window_seconds: float = Field(description="the length of the window summarised")
    revisions: list[RevisionTraffic] = Field(default_factory=list)
