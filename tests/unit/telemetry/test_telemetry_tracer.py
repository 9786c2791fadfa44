"""Service tracers: spans carry the trace on without being recorded until something exports."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, TraceFlags

from headrace_telemetry import ServiceTracerProvider, build_tracer_provider, extract, inject

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SAMPLED = {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01", "tracestate": "vendor=x"}
UNSAMPLED = {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-00"}


def _child_headers(tracer: trace.Tracer, parent: dict[str, str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    with tracer.start_as_current_span("process x", context=extract(parent), kind=SpanKind.CONSUMER):
        inject(headers)
    return headers


def test_without_an_exporter_spans_carry_the_trace_but_are_not_recorded() -> None:
    tracer = build_tracer_provider("alpha", env={}).get_tracer("t")
    with tracer.start_as_current_span("process x", context=extract(SAMPLED)) as span:
        assert not span.is_recording()
        assert trace.get_current_span() is span
        context = span.get_span_context()
    assert context.trace_id == int(TRACE_ID, 16)
    assert context.span_id not in (0, 0xB7AD6B7169203331)
    assert context.trace_flags.sampled
    assert context.trace_state.get("vendor") == "x"

    headers = _child_headers(tracer, SAMPLED)
    _version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert (trace_id, flags) == (TRACE_ID, "01")
    assert span_id != "b7ad6b7169203331"
    assert headers["tracestate"] == "vendor=x"


def test_without_an_exporter_sampling_follows_the_sdk() -> None:
    lean = build_tracer_provider("alpha", env={}).get_tracer("t")
    sdk = TracerProvider().get_tracer("t")
    for parent in (SAMPLED, UNSAMPLED, {}):
        ours = lean.start_span("x", context=extract(parent)).get_span_context()
        theirs = sdk.start_span("x", context=extract(parent)).get_span_context()
        assert ours.trace_flags == theirs.trace_flags, parent
        assert ours.is_valid
        assert theirs.is_valid
    off = ServiceTracerProvider(sampler=ALWAYS_OFF).get_tracer("t")
    assert not off.start_span("root").get_span_context().trace_flags.sampled


def test_a_root_span_starts_a_new_trace() -> None:
    tracer = build_tracer_provider("alpha", env={}).get_tracer("t")
    first = tracer.start_span("publish x").get_span_context()
    second = tracer.start_span("publish x").get_span_context()
    assert first.is_valid
    assert first.trace_flags & TraceFlags.SAMPLED
    assert first.trace_id != second.trace_id


@pytest.mark.parametrize("late", [False, True], ids=["exporter at start", "processor added"])
def test_with_a_span_processor_spans_are_recorded(late: bool) -> None:
    exporter = InMemorySpanExporter()
    if late:
        provider = build_tracer_provider("alpha", env={})
        tracer = provider.get_tracer("t")  # before the processor: it records from then on
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        tracer = build_tracer_provider("alpha", env={}, exporter=exporter).get_tracer("t")
    headers = {}
    with tracer.start_as_current_span(
        "process x", context=extract(SAMPLED), attributes={"messaging.system": "nats"}
    ) as span:
        assert span.is_recording()
        inject(headers)
    (finished,) = exporter.get_finished_spans()
    assert finished.name == "process x"
    assert finished.attributes == {"messaging.system": "nats"}
    assert finished.parent is not None
    assert finished.parent.span_id == 0xB7AD6B7169203331
    assert headers["traceparent"].split("-")[2] == f"{finished.context.span_id:016x}"
