"""W3C trace context in message headers.

Always W3C ``traceparent``/``tracestate``, whatever global propagator an application set,
because that is what the wire contract promises external publishers.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_W3C = TraceContextTextMapPropagator()
TRACE_HEADERS = ("traceparent", "tracestate")


def inject(headers: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the trace context (current one by default) into ``headers``."""
    _W3C.inject(headers, context=context)


def headers_of(context: Context | None = None) -> dict[str, str]:
    """The W3C headers of ``context`` (the current one by default), to keep with something
    that continues its trace later (a revision, a training job); empty when it holds no
    valid span."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context=context)
    return carrier


def extract(headers: Mapping[str, str] | None) -> Context:
    """The remote context carried by ``headers`` (empty if none or malformed)."""
    return _W3C.extract(headers or {})
