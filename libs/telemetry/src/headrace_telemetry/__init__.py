"""OpenTelemetry for Headrace: a provider per service, W3C context in message headers,
messaging semantic conventions for span names and attributes."""

from .messaging import (
    SYSTEM,
    process_attributes,
    process_span_name,
    publish_attributes,
    publish_span_name,
)
from .propagation import TRACE_HEADERS, extract, headers_of, inject
from .setup import build_tracer_provider
from .tracer import ServiceTracerProvider

__all__ = [
    "SYSTEM",
    "TRACE_HEADERS",
    "ServiceTracerProvider",
    "build_tracer_provider",
    "extract",
    "headers_of",
    "inject",
    "process_attributes",
    "process_span_name",
    "publish_attributes",
    "publish_span_name",
]
