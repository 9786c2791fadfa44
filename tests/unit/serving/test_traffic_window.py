"""The router's traffic window (pure): counts, 5xx errors, rate and nearest-rank p50/p95
per InferenceService and revision; an idle service has no summary; each take starts anew."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headrace_serving.dataplane import FleetError, ServiceKey
from headrace_serving.router.reporter import TrafficReporter
from headrace_serving.router.window import RevisionWindow, TrafficWindow, percentile
from headrace_serving.traffic_settings import TrafficSettings

IRIS = ServiceKey("default", "iris")
OTHER = ServiceKey("team-a", "other")


def test_percentile_is_nearest_rank() -> None:
    ordered = [float(n) for n in range(1, 101)]  # 1..100
    assert percentile(ordered, 50) == 50.0
    assert percentile(ordered, 95) == 95.0
    assert percentile([7.0], 50) == percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([1.0, 2.0], 95) == 2.0


def test_a_window_counts_rates_and_percentiles_per_revision() -> None:
    window = TrafficWindow()
    for n in range(1, 21):  # 20 requests to v1, 0.001 .. 0.020 s, two of them 5xx
        window.record(IRIS, "v1", 503 if n in (3, 4) else 200, n / 1000)
    window.record(IRIS, "v2", 404, 0.5)  # a 4xx is not an error of the server
    window.record(OTHER, "o1", 200, 0.25)
    summary = window.take(4.0)
    assert summary[IRIS] == [
        RevisionWindow("v1", requests=20, errors=2, per_second=5.0, p50=0.010, p95=0.019),
        RevisionWindow("v2", requests=1, errors=0, per_second=0.25, p50=0.5, p95=0.5),
    ]
    assert summary[OTHER] == [
        RevisionWindow("o1", requests=1, errors=0, per_second=0.25, p50=0.25, p95=0.25)
    ]


def test_each_take_starts_a_new_window_and_idle_services_say_nothing() -> None:
    window = TrafficWindow()
    assert window.take(5.0) == {}
    window.record(IRIS, "", 503, 0.0)  # no revision took it
    assert window.take(5.0) == {
        IRIS: [RevisionWindow("", requests=1, errors=1, per_second=0.2, p50=0.0, p95=0.0)]
    }
    assert window.take(5.0) == {}


def test_a_window_must_have_a_length() -> None:
    with pytest.raises(ValueError, match="window_seconds must be positive"):
        TrafficWindow().take(0)


def test_the_interval_comes_from_the_environment_and_zero_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HEADRACE_SERVING_TRAFFIC_INTERVAL", raising=False)
    assert TrafficSettings().every() == 5.0
    monkeypatch.setenv("HEADRACE_SERVING_TRAFFIC_INTERVAL", "0.5")
    assert TrafficSettings().every() == 0.5
    monkeypatch.setenv("HEADRACE_SERVING_TRAFFIC_INTERVAL", "0")
    assert TrafficSettings().every() is None
    monkeypatch.setenv("HEADRACE_SERVING_TRAFFIC_INTERVAL", "-1")
    with pytest.raises(ValidationError):
        TrafficSettings()


def test_a_reporter_needs_a_positive_interval() -> None:
    with pytest.raises(FleetError, match="HEADRACE_SERVING_TRAFFIC_INTERVAL"):
        TrafficReporter(None, 0)  # type: ignore[arg-type]  # refused before events are used
