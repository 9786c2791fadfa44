"""The trace a pod continues: the W3C context of the handling that launched it, as the
environment OpenTelemetry's SDKs (and ``headrace-executor``) read.

A pod gets ``TRACEPARENT`` (and ``TRACESTATE`` when the context has one) of that context, as
a local process gets them from the trainer, and ``OTEL_EXPORTER_OTLP_ENDPOINT`` when the
settings name a collector, so its spans are exported where the trainer's go. A context with
no valid span gives no ``TRACEPARENT``, as locally.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubernetes.client import V1EnvVar

from headrace_telemetry import extract, headers_of

from ..settings import KubernetesSettings

__all__ = ["OTLP_ENDPOINT", "trace_env"]

OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def trace_env(
    trace_context: Mapping[str, str] | None, settings: KubernetesSettings
) -> list[V1EnvVar]:
    """The variables that put a pod in the trace ``trace_context`` names (W3C headers)."""
    headers = headers_of(extract(trace_context)) if trace_context else {}
    env = [V1EnvVar(name=key.upper(), value=value) for key, value in sorted(headers.items())]
    if settings.otlp_endpoint:
        env.append(V1EnvVar(name=OTLP_ENDPOINT, value=settings.otlp_endpoint))
    return env
