"""Bootstrap of the serving manager: KServe InferenceServices."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SpanExporter

from headrace_runtime import Service, Settings, run_service

NAME = "serving"


def build(settings: Settings, *, span_exporter: SpanExporter | None = None) -> Service:
    return Service(NAME, settings, span_exporter=span_exporter)


def main() -> None:
    run_service(build)
