"""Which NATS server a Client talks to when it is not told: the running platform's, else
HEADRACE_NATS_URL, else nats://127.0.0.1:4222."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from headrace.client import Client, platform_nats_url
from headrace.home import Home, PlatformState, write_state


def state(pid: int, url: str) -> PlatformState:
    return PlatformState(
        supervisor_pid=pid, nats_url=url, embedded_nats=True, nats_pid=None, started_at=""
    )


def test_the_running_platform_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://from-env:4222")
    write_state(Home(tmp_path), state(os.getpid(), "nats://127.0.0.1:4333"))
    assert platform_nats_url(tmp_path) == "nats://127.0.0.1:4333"
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path))
    with Client() as client:
        assert client.nats_url == "nats://127.0.0.1:4333"


def test_a_dead_platform_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_state(Home(tmp_path), state(gone.pid, "nats://127.0.0.1:4333"))
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://from-env:4222")
    assert platform_nats_url(tmp_path) == "nats://from-env:4222"
    monkeypatch.delenv("HEADRACE_NATS_URL")
    assert platform_nats_url(tmp_path) == "nats://127.0.0.1:4222"


def test_an_explicit_url_is_used_as_given(tmp_path: Path) -> None:
    write_state(Home(tmp_path), state(os.getpid(), "nats://127.0.0.1:4333"))
    with Client("nats://elsewhere:4222", home=tmp_path) as client:
        assert client.nats_url == "nats://elsewhere:4222"
