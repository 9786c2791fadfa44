"""Steps and runs by state and duration: a start and an end pair up in either order, a
step's own duration wins, and an end whose start never comes is counted without one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from headrace_metadata.run_metrics import RunMetrics
from headrace_testing.metrics import data_points

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def measured(reader: InMemoryMetricReader) -> dict[tuple[str, str], tuple[float, ...]]:
    """(metric, state) -> (count,) for counters, (count, sum) for histograms."""
    out: dict[tuple[str, str], tuple[float, ...]] = {}
    for name, labels, point in data_points(reader):
        if hasattr(point, "count"):
            out[(name, str(labels["state"]))] = (point.count, point.sum)
        else:
            out[(name, str(labels["state"]))] = (point.value,)
    return out


def test_starts_and_ends_pair_up_in_either_order() -> None:
    reader = InMemoryMetricReader()
    metrics = RunMetrics(MeterProvider(metric_readers=[reader]).get_meter("t"))
    metrics.started(("r1", ""), T0)
    metrics.ended(("r1", ""), T0 + timedelta(seconds=5), "succeeded")
    metrics.ended(("r2", ""), T0 + timedelta(seconds=9), "failed")  # its start comes later
    metrics.started(("r2", ""), T0 + timedelta(seconds=6))
    metrics.ended(("r3", ""), T0, "cancelled")  # never started here
    metrics.started(("r1", "a"), T0)
    metrics.ended(("r1", "a"), T0 + timedelta(seconds=30), "succeeded", seconds=2.5)
    metrics.ended(("r1", "b"), T0, "skipped")
    assert measured(reader) == {
        ("headrace.runs", "succeeded"): (1,),
        ("headrace.runs", "failed"): (1,),
        ("headrace.runs", "cancelled"): (1,),
        ("headrace.run.duration", "succeeded"): (1, 5.0),
        ("headrace.run.duration", "failed"): (1, 3.0),
        ("headrace.steps", "succeeded"): (1,),
        ("headrace.steps", "skipped"): (1,),
        ("headrace.step.duration", "succeeded"): (1, 2.5),
    }
