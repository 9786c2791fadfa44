"""Per-request OpenTelemetry: a server span carrying the caller's W3C trace context, and
request count, latency and errors per model and version as metrics.

Metrics (attributes ``model.name``, ``model.version``, ``http.route``,
``http.response.status_code``):

``headrace.modelserver.requests``          counter, every request
``headrace.modelserver.errors``            counter, responses with status >= 400
``headrace.modelserver.request.duration``  histogram, seconds

With neither traces nor metrics configured, the middleware passes requests straight through.

An ASGI middleware, so no handler creates spans or propagates context itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any, Protocol

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headrace_telemetry import build_tracer_provider, extract

__all__ = ["TelemetryMiddleware", "build_meter_provider", "default_tracer_provider"]

_TRACE_SETTINGS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "HEADRACE_TRACE_CONSOLE",
)
_INFER = "/infer"
_PREDICT = ":predict"


class ServedModel(Protocol):
    name: str
    version: str


def default_tracer_provider(env: Mapping[str, str] | None = None) -> TracerProvider:
    """Headrace's provider when spans go somewhere (``OTEL_EXPORTER_OTLP_ENDPOINT``,
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``HEADRACE_TRACE_CONSOLE``); otherwise none:
    a span no one exports would cost every request for nothing (nothing runs below it)."""
    env = os.environ if env is None else env
    if not any(env.get(name) for name in _TRACE_SETTINGS):
        return trace.NoOpTracerProvider()
    return build_tracer_provider("model-server", instance_id=str(os.getpid()), env=env)


def build_meter_provider(env: Mapping[str, str] | None = None) -> MeterProvider:
    """OTLP/HTTP metrics when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the metrics one) is set;
    otherwise a provider that records nothing."""
    env = os.environ if env is None else env
    if not (
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    ):
        return metrics.NoOpMeterProvider()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({"service.name": "headrace-model-server"})
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    return SdkMeterProvider(resource=resource, metric_readers=[reader])


_KNOWN = frozenset({"/v2", "/v2/health/live", "/v2/health/ready", "/v1/models"})


def _route(path: str) -> str:
    """The route template of a path (bounded cardinality for the metrics)."""
    if path.endswith(_INFER):
        return "/v2/models/{name}/infer"
    if path.endswith(_PREDICT):
        return "/v1/models/{name}:predict"
    if path.startswith("/v2/models/"):
        return "/v2/models/{name}/ready" if path.endswith("/ready") else "/v2/models/{name}"
    if path.startswith("/v1/models/"):
        return "/v1/models/{name}"
    return path if path in _KNOWN else "other"


class TelemetryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        model: ServedModel,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
    ) -> None:
        self.app = app
        self.tracer = tracer_provider.get_tracer("headrace.modelserver")
        meter = meter_provider.get_meter("headrace.modelserver")
        self.requests = meter.create_counter(
            "headrace.modelserver.requests", unit="{request}", description="requests served"
        )
        self.errors = meter.create_counter(
            "headrace.modelserver.errors", unit="{request}", description="responses >= 400"
        )
        self.duration = meter.create_histogram(
            "headrace.modelserver.request.duration", unit="s", description="request latency"
        )
        self.model = model
        self.active = not (
            isinstance(tracer_provider, trace.NoOpTracerProvider)
            and isinstance(meter_provider, metrics.NoOpMeterProvider)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.active:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"]
            if key in (b"traceparent", b"tracestate")
        }
        method = scope["method"]
        route = _route(scope["path"])
        status = 500
        model = {"model.name": self.model.name, "model.version": self.model.version}

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            f"{method} {route}",
            context=extract(headers) if headers else None,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route, **model},
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                attributes: dict[str, Any] = {
                    **model,
                    "http.route": route,
                    "http.response.status_code": status,
                }
                self.requests.add(1, attributes)
                if status >= 400:
                    self.errors.add(1, attributes)
                self.duration.record(time.perf_counter() - started, attributes)
