"""Build a tracer provider from the environment, once, at service start.

``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set: spans are
batched to that OTLP/HTTP collector. ``HEADRACE_TRACE_CONSOLE=1``: spans are printed.
Neither: spans carry the trace on through messages but are not recorded (see
:mod:`headrace_telemetry.tracer`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from .tracer import ServiceTracerProvider

SERVICE_NAMESPACE = "headrace"


def build_tracer_provider(
    service_name: str,
    *,
    instance_id: str = "",
    env: Mapping[str, str] | None = None,
    exporter: SpanExporter | None = None,
) -> ServiceTracerProvider:
    """A provider for one service process.

    ``exporter`` (tests pass an in-memory one) is attached synchronously and replaces the
    environment's choice.
    """
    env = os.environ if env is None else env
    attributes = {
        "service.name": f"headrace-{service_name}",
        "service.namespace": SERVICE_NAMESPACE,
    }
    if instance_id:
        attributes["service.instance.id"] = instance_id
    provider = ServiceTracerProvider(resource=Resource.create(attributes))
    for processor in _processors(env, exporter):
        provider.add_span_processor(processor)
    return provider


def _processors(env: Mapping[str, str], exporter: SpanExporter | None) -> list[SpanProcessor]:
    if exporter is not None:
        return [SimpleSpanProcessor(exporter)]
    processors: list[SpanProcessor] = []
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
    if env.get("HEADRACE_TRACE_CONSOLE", "").lower() in {"1", "true", "yes"}:
        processors.append(SimpleSpanProcessor(ConsoleSpanExporter()))
    return processors
