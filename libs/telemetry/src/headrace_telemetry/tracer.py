"""Spans are recorded only when something exports them.

Recording an SDK span costs tens of microseconds (its attributes are checked and copied,
its status and events kept), and a service makes one for every message it publishes or
handles. With no span processor on the provider nothing ever reads them, so the tracers of
a :class:`ServiceTracerProvider` then make a non-recording span instead, carrying the ids,
flags and trace state the SDK would have given it (the provider's sampler and id
generator): the trace goes on through the messages as it would with recording, at a
fraction of the cost. From the moment a span processor is added, spans are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    use_span,
)
from opentelemetry.util import types
from opentelemetry.util._decorator import _AgnosticContextManager

__all__ = ["ServiceTracerProvider"]


class ServiceTracerProvider(TracerProvider):
    """The SDK provider, whose tracers record spans only while it has a span processor."""

    exporting = False

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.exporting = True

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        tracer = super().get_tracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )
        if not isinstance(tracer, SdkTracer):  # the SDK is disabled: a no-op tracer
            return tracer
        return _Tracer(self, tracer)


class _Tracer(trace.Tracer):
    def __init__(self, provider: ServiceTracerProvider, recording: SdkTracer) -> None:
        self._provider = provider
        self._recording = recording

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        if self._provider.exporting:
            return self._recording.start_span(
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            )
        ids = self._provider.id_generator
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            trace_id, random_id = parent.trace_id, parent.trace_flags.random_trace_id
        else:
            trace_id, random_id = ids.generate_trace_id(), ids.is_trace_id_random()
        sampled = self._provider.sampler.should_sample(
            context, trace_id, name, kind, attributes, links
        )
        is_sampled = sampled.decision.is_sampled()  # type: ignore[no-untyped-call]  # SDK
        flags = TraceFlags.SAMPLED if is_sampled else TraceFlags.DEFAULT
        if random_id:
            flags |= TraceFlags.RANDOM_TRACE_ID
        return NonRecordingSpan(
            SpanContext(
                trace_id,
                ids.generate_span_id(),
                is_remote=False,
                trace_flags=TraceFlags(flags),
                trace_state=sampled.trace_state,
            )
        )

    def start_as_current_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> _AgnosticContextManager[Span]:
        span = self.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )
        return use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        )
