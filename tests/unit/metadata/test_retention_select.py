"""Which finished runs a retention policy removes (pure selection, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headrace_metadata.retention import FinishedRun, Policy, RetentionSettings, select_runs

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def run(run_id: str, days_ago: float | None, state: str = "SUCCEEDED") -> FinishedRun:
    finished = None if days_ago is None else NOW - timedelta(days=days_ago)
    return FinishedRun(run_id, state, finished)


RUNS = [
    run("new", 0.5),
    run("week", 7, "FAILED"),
    run("month", 31, "CANCELLED"),
    run("year", 365, "REJECTED"),
    run("live", None, "RUNNING"),
    run("queued", None, "PENDING"),
    run("stopping", None, "CANCELLING"),
]


def test_by_age_removes_runs_finished_before_the_cutoff_oldest_first() -> None:
    assert select_runs(RUNS, Policy(older_than_seconds=30 * 86400), NOW) == ["year", "month"]


def test_by_count_keeps_the_newest_finished_runs_and_ignores_unfinished_ones() -> None:
    assert select_runs(RUNS, Policy(keep=2), NOW) == ["year", "month"]
    assert select_runs(RUNS, Policy(keep=0), NOW) == ["year", "month", "week", "new"]
    assert select_runs(RUNS, Policy(keep=10), NOW) == []


def test_age_and_count_together_remove_what_either_removes() -> None:
    policy = Policy(older_than_seconds=100 * 86400, keep=2)
    assert select_runs(RUNS, policy, NOW) == ["year", "month"]
    policy = Policy(older_than_seconds=86400, keep=3)
    assert select_runs(RUNS, policy, NOW) == ["year", "month", "week"]


def test_a_run_that_has_not_finished_is_never_selected() -> None:
    odd = [run("running-but-stamped", 400, "RUNNING"), run("final-no-time", None, "FAILED")]
    assert select_runs(odd, Policy(older_than_seconds=1, keep=0), NOW) == []


def test_no_policy_selects_nothing() -> None:
    assert Policy().is_off
    assert select_runs(RUNS, Policy(), NOW) == []


def test_ties_in_finish_time_are_broken_by_run_id() -> None:
    same = [run("b", 1), run("a", 1), run("c", 1)]
    assert select_runs(same, Policy(keep=1), NOW) == ["a", "b"]


def test_settings_turn_days_or_seconds_into_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RetentionSettings().policy().is_off
    monkeypatch.setenv("HEADRACE_METADATA_RETAIN_DAYS", "2")
    monkeypatch.setenv("HEADRACE_METADATA_RETAIN_RUNS", "5")
    assert RetentionSettings().policy() == Policy(older_than_seconds=172800, keep=5)
    monkeypatch.setenv("HEADRACE_METADATA_RETAIN_SECONDS", "30")
    assert RetentionSettings().policy() == Policy(older_than_seconds=30, keep=5)
    assert not RetentionSettings().delete_artifacts
