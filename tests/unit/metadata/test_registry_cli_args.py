"""``headrace model ...`` arguments and rendering: pure."""

from __future__ import annotations

import pytest

from headrace.cli import build_parser
from headrace.model_render import render_promoted
from headrace_contracts import ModelPromoted


def test_promote_arguments() -> None:
    args = build_parser().parse_args(
        ["model", "promote", "iris", "3", "--alias", "production", "--require", "metrics.a > 1"]
    )
    assert (args.model_command, args.name, args.version) == ("promote", "iris", 3)
    assert (args.alias, args.require, args.namespace) == ("production", "metrics.a > 1", "default")


def test_register_collects_repeated_pairs() -> None:
    args = build_parser().parse_args(
        [
            "model",
            "register",
            "iris",
            "file:///m",
            "--metric",
            "a=1",
            "--metric",
            "b=2",
            "--property",
            'x={"k": 1}',
            "--tag",
            "t1",
            "--tag",
            "t2",
            "--namespace",
            "team-a",
        ]
    )
    assert args.metric == [("a", "1"), ("b", "2")]
    assert args.property == [("x", '{"k": 1}')]
    assert (args.tag, args.namespace) == (["t1", "t2"], "team-a")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["model", "promote", "iris", "0", "--alias", "p"], "expected a version number"),
        (["model", "promote", "iris", "1"], "the following arguments are required: --alias"),
        (["model", "register", "iris", "file:///m", "--metric", "oops"], "expected KEY=VALUE"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_render_promoted() -> None:
    event = ModelPromoted(
        model_name="iris", version=3, alias="production", uri="s3://b/m", previous_version=2
    )
    assert render_promoted(event) == "iris@production -> version 3 (was version 2): s3://b/m"
