"""The trace a Client's messages belong to.

The Client works on an event loop of its own thread, where the caller's OpenTelemetry
context is not current; each call carries it there. A caller with no span of its own (a
pipeline step's code, a training script) continues the trace its process was started in,
from ``TRACEPARENT``/``TRACESTATE`` as the trainer sets them, so what a step publishes
(a model registered, a run submitted, an InferenceService applied) belongs to its run's trace.
"""

from __future__ import annotations

import os
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from opentelemetry import context, trace

from headrace_telemetry import extract

T = TypeVar("T")


def callers_context(env: Mapping[str, str] | None = None) -> context.Context:
    """The caller's current context; without a valid span in it, the one ``TRACEPARENT``
    in ``env`` (the process's environment) names, if any."""
    current = context.get_current()
    if trace.get_current_span(current).get_span_context().is_valid:
        return current
    env = os.environ if env is None else env
    carrier = {
        "traceparent": env.get("TRACEPARENT", ""),
        "tracestate": env.get("TRACESTATE", ""),
    }
    return extract(carrier) if carrier["traceparent"] else current


async def within(carried: context.Context, coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` with ``carried`` as the current context."""
    token = context.attach(carried)
    try:
        return await coro
    finally:
        context.detach(token)
