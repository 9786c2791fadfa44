"""Command-line parsing and the errors a user sees before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from headrace.cli import build_parser, main
from headrace.home import Home, PlatformState, write_state


def error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(argv)
    assert caught.value.code == 2
    return capsys.readouterr().err


def test_up_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADRACE_NATS_URL", raising=False)
    args = build_parser().parse_args(["up"])
    assert (args.detach, args.scale, args.nats_url, args.timeout) == (False, [], None, 60.0)


def test_up_takes_several_scale_items() -> None:
    args = build_parser().parse_args(
        ["up", "--scale", "metadata=2", "trainer=2", "--scale", "tuner=3", "--detach"]
    )
    assert args.scale == ["metadata=2", "trainer=2", "tuner=3"]
    assert args.detach


def test_unknown_service_error(capsys: pytest.CaptureFixture[str]) -> None:
    err = error_of(["up", "--scale", "foo=2"], capsys)
    assert "unknown service 'foo' (services: metadata, scheduler, serving, trainer, tuner)" in err


def test_bad_replica_count_error(capsys: pytest.CaptureFixture[str]) -> None:
    err = error_of(["up", "--scale", "metadata=zero"], capsys)
    assert "replica count must be a positive integer" in err


def test_bad_timeout_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert "positive number of seconds" in error_of(["down", "--timeout", "-1"], capsys)


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert "required" in error_of([], capsys)


def test_up_reads_the_nats_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://elsewhere:4222")
    assert build_parser().parse_args(["up"]).nats_url == "nats://elsewhere:4222"


def test_status_without_a_platform_exits_3_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HEADRACE_NATS_URL", raising=False)
    assert main(["status", "--home", str(tmp_path)]) == 3
    assert "start one with `headrace up`" in capsys.readouterr().err


def test_down_without_a_platform_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["down", "--home", str(tmp_path)]) == 0
    assert "No platform is running" in capsys.readouterr().out


def test_status_of_a_dead_platform_says_its_supervisor_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HEADRACE_NATS_URL", raising=False)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    state = PlatformState(
        supervisor_pid=child.pid,
        nats_url="nats://127.0.0.1:1",
        embedded_nats=True,
        nats_pid=None,
        started_at="",
    )
    write_state(Home(tmp_path), state)
    assert main(["status", "--home", str(tmp_path)]) == 3
    assert f"its supervisor (pid {child.pid}) is gone" in capsys.readouterr().err
