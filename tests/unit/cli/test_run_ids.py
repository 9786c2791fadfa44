"""Run ids the client makes up, and the ids it accepts from a user."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headrace.run_errors import RunRejectedError
from headrace.run_ids import RUN_ID, check_run_id, new_run_id

NOW = datetime(2025, 3, 9, 14, 5, 7, tzinfo=UTC)


def test_the_id_is_name_time_and_token() -> None:
    assert new_run_id("sum-pipeline", now=NOW, token="a1b2c3") == (
        "sum-pipeline-20250309-140507-a1b2c3"
    )


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("My Pipeline_v2", "my-pipeline-v2-"),
        ("--weird//name!!", "weird-name-"),
        ("", "run-"),
        ("???", "run-"),
        ("Ünïcode", "n-code-"),
    ],
)
def test_any_pipeline_name_gives_a_valid_lower_case_id(name: str, prefix: str) -> None:
    run_id = new_run_id(name, now=NOW, token="abcdef")
    assert run_id == f"{prefix}20250309-140507-abcdef"
    assert RUN_ID.match(run_id)


def test_a_long_name_is_cut_to_fit() -> None:
    run_id = new_run_id("x" * 300, now=NOW)
    assert len(run_id) == 128
    assert RUN_ID.match(run_id)


def test_two_ids_in_the_same_second_differ() -> None:
    assert new_run_id("p", now=NOW) != new_run_id("p", now=NOW)


def test_the_token_is_six_hex_digits() -> None:
    token = new_run_id("p").rsplit("-", 1)[1]
    assert len(token) == 6
    int(token, 16)


@pytest.mark.parametrize("bad", ["", "-x", "a b", "a/b", "x" * 129])
def test_a_bad_user_id_is_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(RunRejectedError, match="must be 1-128 letters, digits"):
        check_run_id(bad)


def test_a_good_user_id_is_kept() -> None:
    assert check_run_id("Run_1.a-b") == "Run_1.a-b"
