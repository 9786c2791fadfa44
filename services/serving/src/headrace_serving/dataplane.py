"""The boundary between the serving manager's control plane and its data plane.

The control plane (handlers, tables, rollouts) decides *what* should run: which revisions of
an InferenceService exist and how traffic is split between the stable and the canary one.
The data plane (`Fleet`) makes it so on this machine: model-server replicas per revision,
one router (front endpoint) per InferenceService, autoscaling, and reports back what
happened through `FleetEvents`. Both sides know only the types of this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from .router.window import RevisionWindow

__all__ = [
    "Fleet",
    "FleetError",
    "FleetEvents",
    "LoggerPlan",
    "RevisionPlan",
    "RevisionStatus",
    "ServiceKey",
    "Traffic",
]

LoggerMode = Literal["all", "request", "response"]
LoggedKind = Literal["request", "response"]
RevisionState = Literal["Loading", "Ready", "Failed", "ScaledToZero", "Retired"]


@dataclass(frozen=True, slots=True)
class ServiceKey:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class LoggerPlan:
    """KServe's ``logger``: which request/response bodies become CloudEvents on the bus."""

    mode: LoggerMode = "all"


@dataclass(frozen=True, slots=True)
class RevisionPlan:
    """One immutable revision of an InferenceService's predictor."""

    name: str
    """``<service>-predictor-00001``: unique within the service, never reused."""
    model_name: str
    """The name clients call (``/v2/models/<model_name>/infer``): the InferenceService's."""
    storage_uri: str
    """What the model server loads: a path, ``file://``, ``s3://`` or ``models:/NAME/VERSION``."""
    model_format: str | None = None
    model_version: str | None = None
    min_replicas: int = 1
    """0 allows scale to zero after the idle period."""
    max_replicas: int = 1
    scale_target: int = 1
    """Concurrent requests one replica should carry (``scaleMetric: concurrency``)."""
    container_concurrency: int = 0
    """Hard limit of requests in flight per replica; 0 is unlimited."""
    max_batch_size: int = 1
    max_latency_ms: float = 5.0
    workers: int = 1
    env: Mapping[str, str] = field(default_factory=dict)
    namespace: str = "default"
    """The InferenceService's namespace: where ``models:/`` URIs are resolved."""
    requests: Mapping[str, str] = field(default_factory=dict)
    """The predictor's ``resources.requests`` (``cpu: 500m``): a Kubernetes pod's; unused
    by local replicas."""
    limits: Mapping[str, str] = field(default_factory=dict)
    """The predictor's ``resources.limits``, as ``requests``."""
    trace_context: Mapping[str, str] = field(default_factory=dict)
    """W3C ``traceparent`` (and ``tracestate``) of the handling that made the revision (a
    ``ModelPromoted`` or an ``ApplyInferenceService``, whose headers carried its trace): the
    revision's load and the first request it serves are spans of that trace."""


@dataclass(frozen=True, slots=True)
class Traffic:
    """Where requests go. ``canary_percent`` of them go to ``canary`` once it is ready; until
    then, and whenever it is not ready, all go to ``stable``. With no stable revision ready,
    requests wait for one (cold start) up to the router's timeout."""

    stable: str | None
    canary: str | None = None
    canary_percent: int = 0


@dataclass(frozen=True, slots=True)
class RevisionStatus:
    revision: str
    state: RevisionState
    replicas: int = 0
    ready_replicas: int = 0
    reason: str = ""


class FleetEvents(Protocol):
    """What the data plane reports; called on the event loop, must not block."""

    def revision_ready(self, key: ServiceKey, revision: str, replicas: int) -> None: ...

    def revision_failed(self, key: ServiceKey, revision: str, reason: str) -> None: ...

    def scaled(self, key: ServiceKey, revision: str, replicas: int) -> None: ...

    def logged(
        self,
        key: ServiceKey,
        revision: str,
        kind: LoggedKind,
        request_id: str,
        body: bytes,
        content_type: str,
    ) -> None:
        """KServe's ``logger``: a request or response body the router saw (the same
        ``request_id`` for both halves of one exchange), called soon after, off the
        request's path."""
        ...

    def traffic(
        self, key: ServiceKey, window_seconds: float, revisions: list[RevisionWindow]
    ) -> None:
        """What the service's router answered in the last ``window_seconds``, per revision;
        called every window for a service that answered requests in it (never when idle)."""
        ...


class FleetError(Exception):
    """A call the fleet cannot carry out (e.g. a revision of a service that is not open);
    the message names the thing and the fix."""


class Fleet(Protocol):
    async def open_service(
        self, key: ServiceKey, *, port: int | None = None, logger: LoggerPlan | None = None
    ) -> str:
        """Start (or keep) the service's router; its URL (``http://host:port``)."""
        ...

    async def start_revision(self, key: ServiceKey, plan: RevisionPlan) -> None:
        """Start the revision's replicas (``max(min_replicas, 1)`` at first); readiness or
        failure is reported through `FleetEvents`. Starting a known revision does nothing."""
        ...

    async def set_traffic(self, key: ServiceKey, traffic: Traffic) -> None:
        """Switch the split; requests in flight finish on the revision they started on."""
        ...

    async def retire_revision(self, key: ServiceKey, revision: str) -> None:
        """Stop routing to it, let its requests in flight finish, then stop its replicas."""
        ...

    async def close_service(self, key: ServiceKey) -> None:
        """Delete: new requests get 404 at once, requests in flight finish, then everything
        the service ran stops."""
        ...

    def status(self, key: ServiceKey) -> list[RevisionStatus]: ...

    async def aclose(self) -> None:
        """Stop every router and replica (service shutdown)."""
        ...
