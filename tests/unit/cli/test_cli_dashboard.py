"""``headrace dashboard`` without a platform to ask says so and how to start one."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.cli import main
from headrace.commands import EXIT_NO_PLATFORM


def test_with_no_platform_it_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEADRACE_NATS_URL", raising=False)
    assert main(["dashboard", "--print", "--home", str(tmp_path)]) == EXIT_NO_PLATFORM
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"no platform is running in {tmp_path}: start one with `headrace up`" in captured.err
