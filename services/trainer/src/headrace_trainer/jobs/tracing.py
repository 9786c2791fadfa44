"""A training job's replicas in the trace of the job's submission.

The handling of ``SubmitTrainingJob`` keeps its W3C context on the job's row (a step that
submits a job through ``headrace.Client`` carries its run's trace there). Each replica of
each attempt is then a span ``replica <role>-<index>`` of that trace, from its launch to its
exit (``headrace.training_job``, ``headrace.replica``, ``headrace.attempt``, and the exit
code), and the replica's process finds the span's context in ``TRACEPARENT`` (and
``TRACESTATE``), as a pipeline step does, to add spans of its own. On a backend that builds
its own pods (Kubernetes), whose pods of a replica group share one template, each pod's
``TRACEPARENT`` is the job's context instead (the gang's ``trace_context``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from headrace_telemetry import extract, headers_of

from ..backends.base import Gang

__all__ = ["ReplicaSpans"]


class ReplicaSpans:
    """The spans of one job's live replicas."""

    def __init__(self, tracer: Tracer, job: str) -> None:
        self._tracer = tracer
        self._job = job
        self._open: dict[str, Span] = {}

    def start(self, gang: Gang, trace_context: Mapping[str, str]) -> Gang:
        """A span per replica of ``gang`` under ``trace_context``; the gang, each replica's
        environment given its span's ``TRACEPARENT``."""
        self.end_all("a new attempt started")
        parent = extract(trace_context)
        launches = []
        for launch in gang.replicas:
            span = self._tracer.start_span(
                f"replica {launch.name}",
                context=parent,
                attributes={
                    "headrace.training_job": self._job,
                    "headrace.replica": launch.name,
                    "headrace.attempt": gang.attempt,
                },
            )
            self._open[launch.name] = span
            env = {
                **launch.env,
                **{
                    key.upper(): value
                    for key, value in headers_of(trace.set_span_in_context(span)).items()
                },
            }
            launches.append(replace(launch, env=env))
        # a backend that builds its own pods (Kubernetes) gives them the job's context
        return replace(gang, replicas=tuple(launches), trace_context=headers_of(parent))

    def ended(self, replica: str, exit_code: int) -> None:
        span = self._open.pop(replica, None)
        if span is None:
            return
        span.set_attribute("process.exit.code", exit_code)
        if exit_code != 0:
            span.set_status(Status(StatusCode.ERROR, f"exit code {exit_code}"))
        span.end()

    def end_all(self, reason: str) -> None:
        """End the spans of replicas whose exit was not seen (stopped, or the gang failed
        to start)."""
        spans, self._open = self._open, {}
        for span in spans.values():
            span.set_attribute("headrace.stopped", reason)
            span.end()
