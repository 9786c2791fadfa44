"""Which ticks of a schedule fire: cron and interval timing, catch-up, concurrency, end."""

from datetime import UTC, datetime, timedelta

import pytest

from headrace_pipelines import Cron, Interval, SpecError, check_cron, parse_duration, timing
from headrace_scheduler.schedules.policy import CATCHUP_CAP, first_tick, plan_firing, tick_run_id

T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_durations_and_their_errors() -> None:
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration(" 2D ") == timedelta(days=2)
    for bad in ("5x", "", "1.5h", "h", "0s", "-1s"):
        with pytest.raises(SpecError, match="interval"):
            parse_duration(bad)


def test_cron_five_and_six_fields_and_their_errors() -> None:
    assert check_cron("*/5  * * * *") == "*/5 * * * *"
    every_ten_seconds = Cron(check_cron("*/10 * * * * *"))  # KFP: seconds first
    assert every_ten_seconds.after(s(3)) == s(10)
    assert every_ten_seconds.latest(s(10)) == s(10)
    assert every_ten_seconds.latest(s(19.5)) == s(10)
    assert Cron("0 2 * * *").after(T0) == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    with pytest.raises(SpecError, match=r"'61 \* \* \* \*' is not valid"):
        check_cron("61 * * * *")
    with pytest.raises(SpecError, match="has 3 fields: give 5"):
        check_cron("* * *")
    with pytest.raises(SpecError, match="exactly one of"):
        timing("* * * * *", "5m", T0)


def test_interval_ticks_count_from_the_anchor() -> None:
    every = Interval(T0, timedelta(seconds=2))
    assert every.after(s(-10)) == T0
    assert every.after(T0) == s(2)
    assert every.after(s(3)) == s(4)
    assert every.latest(s(5)) == s(4)
    assert every.latest(s(-1)) is None


def test_first_tick_after_creation_or_at_start() -> None:
    every = Interval(T0, timedelta(seconds=2))
    assert first_tick(every, T0, None, None) == s(2)
    later = Interval(s(100), timedelta(seconds=2))
    assert first_tick(later, T0, s(100), None) == s(100)
    assert first_tick(every, T0, None, s(1)) is None  # ends before its first tick


def test_nothing_due_before_the_next_tick() -> None:
    every = Interval(T0, timedelta(seconds=1))
    firing = plan_firing(every, s(5), s(4.5), catchup=True, capacity=5, end_at=None)
    assert (firing.ticks, firing.next_fire_at) == ([], s(5))


def test_catchup_fires_missed_ticks_in_order_up_to_capacity() -> None:
    every = Interval(T0, timedelta(seconds=1))
    firing = plan_firing(every, s(1), s(4.2), catchup=True, capacity=10, end_at=None)
    assert firing.ticks == [s(1), s(2), s(3), s(4)]
    assert firing.next_fire_at == s(5)
    held = plan_firing(every, s(1), s(4.2), catchup=True, capacity=2, end_at=None)
    assert held.ticks == [s(1), s(2)]
    assert held.next_fire_at == s(3)  # still due: fires once runs end


def test_no_catchup_fires_only_the_latest() -> None:
    every = Interval(T0, timedelta(seconds=1))
    firing = plan_firing(every, s(1), s(4.2), catchup=False, capacity=10, end_at=None)
    assert (firing.ticks, firing.next_fire_at) == ([s(4)], s(5))


def test_no_capacity_holds_the_tick() -> None:
    every = Interval(T0, timedelta(seconds=1))
    firing = plan_firing(every, s(1), s(3), catchup=False, capacity=0, end_at=None)
    assert (firing.ticks, firing.next_fire_at) == ([], s(1))


def test_catchup_is_capped() -> None:
    every = Interval(T0, timedelta(seconds=1))
    firing = plan_firing(every, s(1), s(1000), catchup=True, capacity=1000, end_at=None)
    assert len(firing.ticks) == CATCHUP_CAP
    assert firing.ticks[-1] == s(1000)
    assert firing.dropped


def test_end_bounds_firing() -> None:
    every = Interval(T0, timedelta(seconds=1))
    firing = plan_firing(every, s(1), s(10), catchup=True, capacity=10, end_at=s(2.5))
    assert (firing.ticks, firing.next_fire_at) == ([s(1), s(2)], None)
    after_end = plan_firing(every, s(3), s(10), catchup=True, capacity=10, end_at=s(2.5))
    assert (after_end.ticks, after_end.next_fire_at) == ([], None)


def test_run_ids_are_derived_from_schedule_and_tick() -> None:
    run_id = tick_run_id("Nightly_Train", "0f1e2d3c-0000", s(7))
    assert run_id == "nightly-train-20261201-090007-0f1e2d"
    assert run_id == tick_run_id("Nightly_Train", "0f1e2d3c-0000", s(7))
