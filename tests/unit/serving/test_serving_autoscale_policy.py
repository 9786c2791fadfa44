"""The autoscaler's pure parts: the concurrency meter, the policy and its windows."""

from __future__ import annotations

import pytest

from headrace_serving.autoscale import (
    ConcurrencyMeter,
    ScalePolicy,
    ScaleSettings,
    desired_replicas,
)


def decide(settings: ScaleSettings, stable: float, panic: float | None = None, *,
           current: int = 1, idle_for: float = 0.0) -> int:  # fmt: skip
    return desired_replicas(
        settings,
        stable_concurrency=stable,
        panic_concurrency=stable if panic is None else panic,
        current=current,
        idle_for=idle_for,
    )


def test_replicas_are_concurrency_over_target_rounded_up_and_clamped() -> None:
    settings = ScaleSettings(min_replicas=1, max_replicas=5, target=2)
    assert decide(settings, 0.0) == 1  # never below min_replicas
    assert decide(settings, 2.0) == 1
    assert decide(settings, 2.1) == 2
    assert decide(settings, 7.0, current=3) == 4
    assert decide(settings, 100.0, current=5) == 5  # never above max_replicas


def test_panic_window_scales_up_at_once_when_concurrency_doubles_the_capacity() -> None:
    settings = ScaleSettings(min_replicas=1, max_replicas=10, target=1)
    # The stable average still says 1, the last second says 4: four replicas now.
    assert decide(settings, 1.0, panic=4.0, current=1) == 4
    # Less than double the capacity: the stable window decides.
    assert decide(settings, 1.0, panic=3.0, current=2) == 1


def test_to_zero_only_with_min_zero_after_the_idle_period() -> None:
    settings = ScaleSettings(min_replicas=0, max_replicas=3, target=1, idle_seconds=30)
    assert decide(settings, 0.0, current=1, idle_for=10) == 1  # recently used: keep one
    assert decide(settings, 0.0, current=1, idle_for=30) == 0
    assert decide(settings, 0.0, current=0, idle_for=5) == 0  # at zero without demand: stay
    assert decide(settings, 0.5, current=0, idle_for=0) == 1  # a waiting request: wake
    kept = ScaleSettings(min_replicas=1, max_replicas=3, idle_seconds=30)
    assert decide(kept, 0.0, current=1, idle_for=3600) == 1


def test_bad_settings_are_refused_naming_them() -> None:
    with pytest.raises(ValueError, match="target >= 1"):
        ScaleSettings(target=0)


def test_policy_averages_the_samples_of_its_windows() -> None:
    policy = ScalePolicy(ScaleSettings(max_replicas=10, stable_window=6.0, panic_window=1.0))
    for second in range(10):
        policy.observe(float(second), 2.0 if second < 8 else 8.0)
    # Samples at 4..9 are in the stable window: (2*4 + 8*2) / 6 = 4; the last second: 8.
    assert policy.average(9.0, 6.0) == pytest.approx(4.0)
    assert policy.average(9.0, 1.0) == pytest.approx(8.0)
    assert policy.desired(9.0, current=2, idle_for=0) == 8  # panic: 8 >= 2 * 2
    assert policy.desired(9.0, current=5, idle_for=0) == 4


def test_meter_integrates_requests_in_flight_over_time() -> None:
    meter = ConcurrencyMeter(now=0.0)
    meter.add(0.0, 1)  # one request for the whole second
    meter.add(0.5, 1)  # a second one for its second half
    meter.add(1.0, -1)
    assert meter.sample(1.0) == pytest.approx(1.5)
    assert meter.sample(2.0) == pytest.approx(1.0)  # one still in flight
    meter.add(2.0, -1)
    assert meter.sample(3.0) == pytest.approx(0.0)
