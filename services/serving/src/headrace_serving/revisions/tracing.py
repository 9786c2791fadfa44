"""A revision's place in the trace that made it.

A revision is made while the serving service handles a message: a ``ModelPromoted`` (the
pipeline run that registered and promoted the model) or an ``ApplyInferenceService``. The
W3C context of that handling is kept in the revision's plan (``trace_context``), so the data
plane can add to that trace what follows, although it happens later and elsewhere:

``load <revision>``           from the revision's start until its first replica serves (or
                              it fails), with ``headrace.inference_service`` and
                              ``headrace.revision``
``first request <revision>``  the first request the revision answers, from its arrival at the
                              router to the answer (kind SERVER, with the HTTP method, path and
                              status); the request belongs to its own trace too, which the
                              span links to when the request carried a ``traceparent``

Only the first request: a revision serves many, and each has its own trace already (the
model server's span, under the caller's ``traceparent``).
"""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer

from headrace_telemetry import extract

from ..dataplane import RevisionPlan, ServiceKey

__all__ = ["RevisionTrace", "request_link"]


def request_link(headers: list[bytes]) -> Link | None:
    """A link to the trace a request's ``traceparent`` header names, if it names one."""
    carrier: dict[str, str] = {}
    for line in headers:
        name, _, value = line.partition(b":")
        lower = name.strip().lower()
        if lower in (b"traceparent", b"tracestate"):
            carrier[lower.decode("latin-1")] = value.strip().decode("latin-1")
    if "traceparent" not in carrier:
        return None
    linked = trace.get_current_span(extract(carrier)).get_span_context()
    return Link(linked) if linked.is_valid else None


class RevisionTrace:
    """The spans one revision adds to the trace in ``plan.trace_context``."""

    def __init__(self, tracer: Tracer, key: ServiceKey, plan: RevisionPlan) -> None:
        self._tracer = tracer
        self._parent = extract(plan.trace_context)
        self._attributes: dict[str, str] = {
            "headrace.inference_service": str(key),
            "headrace.revision": plan.name,
            "headrace.model_name": plan.model_name,
        }
        if plan.model_version:
            self._attributes["headrace.model_version"] = plan.model_version
        self._loading: Span | None = None

    @classmethod
    def of(cls, tracer: Tracer | None, key: ServiceKey, plan: RevisionPlan) -> RevisionTrace | None:
        """None when there is no tracer or the plan names no trace."""
        if tracer is None or "traceparent" not in plan.trace_context:
            return None
        return cls(tracer, key, plan)

    def loading(self) -> None:
        if self._loading is None:
            self._loading = self._tracer.start_span(
                f"load {self._attributes['headrace.revision']}",
                context=self._parent,
                attributes=self._attributes,
            )

    def loaded(self, failure: str | None = None) -> None:
        span, self._loading = self._loading, None
        if span is None:
            return
        if failure is not None:
            span.set_status(Status(StatusCode.ERROR, failure))
        span.end()

    def first_request(
        self,
        method: bytes,
        url: bytes,
        headers: list[bytes],
        status: int,
        seconds: float,
    ) -> None:
        """The first request the revision answered: ``status`` after ``seconds``."""
        ended = time.time_ns()
        path = url.split(b"?", 1)[0].decode("latin-1")
        link = request_link(headers)
        span = self._tracer.start_span(
            f"first request {self._attributes['headrace.revision']}",
            context=self._parent,
            kind=SpanKind.SERVER,
            attributes={
                **self._attributes,
                "http.request.method": method.decode("latin-1"),
                "url.path": path,
                "http.response.status_code": status,
            },
            links=[link] if link is not None else (),
            start_time=ended - int(seconds * 1e9),
        )
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=ended)
