"""Parsing `headrace run ...`: defaults, repeatable -p, and the errors argparse prints."""

from __future__ import annotations

import pytest

from headrace.cli import build_parser


def parse(*argv: str) -> dict[str, object]:
    return vars(build_parser().parse_args(["run", *argv]))


def test_submit_defaults() -> None:
    args = parse("submit", "p.yaml")
    assert {k: args[k] for k in ("file", "param", "no_cache", "run_id", "name")} == {
        "file": "p.yaml",
        "param": [],
        "no_cache": False,
        "run_id": None,
        "name": "",
    }
    assert (args["experiment"], args["watch"], args["json"], args["pipeline"]) == (
        "Default",
        False,
        False,
        None,
    )
    assert (args["home"], args["nats_url"], args["timeout"]) == (None, None, 5.0)


def test_parameters_repeat_in_order() -> None:
    args = parse("submit", "p.py", "-p", "n=1", "--param", "xs=[1, 2]", "-p", "n=2")
    assert args["param"] == ["n=1", "xs=[1, 2]", "n=2"]


def test_list_takes_a_state_in_any_case() -> None:
    assert parse("list", "--state", "running", "--limit", "3")["state"] == "RUNNING"
    assert parse("list")["state"] is None


def test_logs_step_is_optional() -> None:
    assert parse("logs", "r1")["step_id"] is None
    assert parse("logs", "r1", "for-loop-2[0]/add")["step_id"] == "for-loop-2[0]/add"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--state", "done"], "unknown run state 'done' (states: PENDING, RUNNING"),
        (["list", "--limit", "0"], "expected a number from 1 to 10000, got '0'"),
        (["get", "r", "--timeout", "-1"], "expected a positive number of seconds, got '-1'"),
        (["submit"], "the following arguments are required: FILE"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse(*argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err
