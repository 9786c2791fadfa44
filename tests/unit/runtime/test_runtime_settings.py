"""Settings from the environment and the pieces built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from headrace_contracts import MetricReported, Ping
from headrace_runtime import Settings, outbox_row, schema_for
from headrace_telemetry import build_tracer_provider, extract, inject


def test_settings_come_from_headrace_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path))
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://10.0.0.1:4222")
    monkeypatch.setenv("HEADRACE_MAX_DELIVER", "7")
    settings = Settings()
    assert settings.home == tmp_path
    assert settings.bus_config("scheduler").url == "nats://10.0.0.1:4222"
    assert settings.bus_config("scheduler").retry.max_deliver == 7
    assert settings.database_url_for("scheduler") == f"sqlite:///{tmp_path / 'scheduler.db'}"
    assert settings.artifacts_root() == (tmp_path / "artifacts").as_uri()


def test_database_url_per_service_overrides_the_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADRACE_DATABASE_URL", "postgresql+psycopg://db/headrace")
    monkeypatch.setenv("HEADRACE_TUNER_DATABASE_URL", "sqlite:////var/tuner.db")
    settings = Settings()
    assert settings.database_url_for("tuner") == "sqlite:////var/tuner.db"
    assert settings.database_url_for("scheduler") == "postgresql+psycopg://db/headrace"
    assert schema_for("scheduler") == "headrace_scheduler"


def test_instance_id_defaults_to_host_and_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADRACE_INSTANCE_ID", raising=False)
    assert Settings().instance("trainer").startswith("trainer-")
    assert Settings(instance_id="trainer-3").instance("trainer") == "trainer-3"


def test_outbox_row_captures_the_trace_context_and_refuses_queries() -> None:
    provider = build_tracer_provider("unit", exporter=InMemorySpanExporter())
    tracer = provider.get_tracer("unit")
    with tracer.start_as_current_span("work") as span:
        row = outbox_row(MetricReported(metric="m", value=1.0), source="s", event_id="e1")
    assert row.subject == "headrace.metric.reported"
    assert row.headers["ce-id"] == "e1"
    carried = trace.get_current_span(extract(row.headers)).get_span_context()
    assert carried.trace_id == span.get_span_context().trace_id
    with pytest.raises(TypeError, match="only events and commands"):
        outbox_row(Ping(), source="s", event_id="e2")


def test_trace_context_round_trips_through_headers() -> None:
    provider = build_tracer_provider("unit", exporter=InMemorySpanExporter())
    with provider.get_tracer("unit").start_as_current_span("p") as span:
        headers: dict[str, str] = {}
        inject(headers)
    assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    assert trace.get_current_span(extract({})).get_span_context().is_valid is False
    assert (
        trace.get_current_span(extract({"traceparent": "garbage"})).get_span_context().is_valid
        is False
    )
