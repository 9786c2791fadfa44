"""What the serving service answers and announces about InferenceServices (area
``inferenceservice``): the view, the queries, and ``InferenceServiceUpdated``."""

from __future__ import annotations

from pydantic import Field

from .base import Event, Query, Reply
from .common import Value

SERVICE_STATES = ("Pending", "Ready", "Failed", "Deleted")
REVISION_STATES = ("Loading", "Ready", "Failed", "ScaledToZero", "Retired")


class RevisionView(Value):
    name: str = Field(description="<service>-predictor-00001, ...")
    storage_uri: str = Field(description="what the model server loads (models:/NAME/VERSION)")
    model_version: str | None = Field(default=None, description="registry version, if bound")
    state: str = Field(default="Loading", description="one of REVISION_STATES")
    reason: str = ""
    replicas: int = 0
    ready_replicas: int = 0
    created_at: str = ""


class TrafficView(Value):
    revision: str
    percent: int
    ready: bool = False
    tag: str = Field(default="stable", description="stable or canary")


class InferenceServiceView(Value):
    name: str
    namespace: str = "default"
    url: str = ""
    state: str = Field(default="Pending", description="one of SERVICE_STATES")
    error: str = ""
    storage_uri: str = Field(default="", description="as given in the spec")
    model: str = Field(default="", description="the registered model it is bound to, if any")
    alias: str = ""
    model_format: str = ""
    protocol_version: str = "v1"
    canary_traffic_percent: int | None = None
    min_replicas: int = 1
    max_replicas: int = 1
    generation: int = Field(default=0, description="grows with every change")
    spec_digest: str = Field(default="", description="of the last applied document")
    request_id: str = Field(
        default="", description="of the last apply handled, so its sender knows it is answered"
    )
    revisions: list[RevisionView] = Field(default_factory=list, description="newest first")
    traffic: list[TrafficView] = Field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""


class InferenceServiceUpdated(Event):
    """The whole view after a change (apply, readiness, traffic, scaling, failure, delete)."""

    AREA = "inferenceservice"
    NAME = "updated"

    service: InferenceServiceView


class InferenceServiceDetail(Reply):
    service: InferenceServiceView | None = Field(default=None, description="None when unknown")


class GetInferenceService(Query):
    AREA = "inferenceservice"
    NAME = "get"
    REPLY = InferenceServiceDetail

    name: str
    namespace: str = "default"


class InferenceServiceList(Reply):
    services: list[InferenceServiceView] = Field(default_factory=list)


class ListInferenceServices(Query):
    """InferenceServices by name; ``namespace`` "" lists every namespace."""

    AREA = "inferenceservice"
    NAME = "list"
    REPLY = InferenceServiceList

    namespace: str = "default"
