"""Restart backoff of supervised processes: 0.5 s doubling, capped at 30 s, reset after 60 s."""

from __future__ import annotations

import signal

import pytest

from headrace.backoff import Backoff, backoff_delay, describe_exit


def test_delay_doubles_from_half_a_second_up_to_thirty() -> None:
    delays = [backoff_delay(n) for n in range(9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_huge_failure_counts_stay_at_the_cap() -> None:
    assert backoff_delay(10_000) == 30.0


def test_negative_failure_count_is_a_bug() -> None:
    with pytest.raises(ValueError, match="failures must be >= 0"):
        backoff_delay(-1)


def test_quick_crashes_back_off_and_a_long_run_resets() -> None:
    backoff = Backoff()
    assert [backoff.next_delay(ran_for=1.0) for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff.next_delay(ran_for=59.9) == 8.0
    assert backoff.next_delay(ran_for=60.0) == 0.5
    assert backoff.next_delay(ran_for=0.1) == 1.0
    assert backoff.restarts == 7


def test_custom_policy() -> None:
    backoff = Backoff(initial=1.0, cap=3.0, reset_after=5.0)
    assert [backoff.next_delay(0.0) for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    assert backoff.next_delay(5.0) == 1.0


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (-signal.SIGKILL, "killed by signal SIGKILL"),
        (-signal.SIGTERM, "killed by signal SIGTERM"),
        (0, "exited with code 0"),
        (3, "exited with code 3"),
        (-200, "killed by signal 200"),
    ],
)
def test_exit_descriptions(code: int, text: str) -> None:
    assert describe_exit(code) == text
