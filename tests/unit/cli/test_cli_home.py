"""The home folder: platform.json written atomically, the supervisor's lock, stale state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headrace.control import find_platform
from headrace.home import (
    Home,
    PlatformLock,
    PlatformState,
    Replica,
    ServiceRecord,
    lock_held,
    read_state,
    remove_state,
    resolve_home,
    write_state,
)
from headrace.procs import pid_alive, service_command, service_env


def a_state(supervisor_pid: int) -> PlatformState:
    return PlatformState(
        supervisor_pid=supervisor_pid,
        nats_url="nats://127.0.0.1:4222",
        embedded_nats=True,
        nats_pid=None,
        started_at="2025-01-01T00:00:00+00:00",
        services={"metadata": ServiceRecord(2, [Replica("metadata-0", 5), Replica("metadata-1")])},
    )


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_home_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_home() == tmp_path / "env"
    monkeypatch.delenv("HEADRACE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_home() == tmp_path / ".headrace"
    monkeypatch.chdir(tmp_path)
    assert resolve_home("rel").is_absolute()


def test_state_round_trip_and_removal(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert read_state(home) is None
    state = a_state(os.getpid())
    write_state(home, state)
    assert read_state(home) == state
    assert json.loads(home.state_file.read_text())["services"]["metadata"]["replicas"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["platform.json"]  # no temp file left
    assert state.pids() == [5, os.getpid()]
    remove_state(home)
    remove_state(home)
    assert not home.state_file.exists()


def test_a_broken_state_file_reads_as_none(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.state_file.write_text("{not json")
    assert read_state(home) is None
    home.state_file.write_text('{"nats_url": "x"}')
    assert read_state(home) is None


def test_one_lock_holder_per_home(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert not lock_held(home)
    first = PlatformLock(home)
    assert first.acquire()
    assert lock_held(home)
    assert not PlatformLock(home).acquire()
    first.release()
    assert not lock_held(home)


def test_found_running_stale_or_nothing(tmp_path: Path) -> None:
    home = Home(tmp_path)
    found = find_platform(home)
    assert (found.state, found.running, found.stale) == (None, False, False)
    write_state(home, a_state(dead_pid()))
    found = find_platform(home)
    assert found.stale
    lock = PlatformLock(home)
    assert lock.acquire()
    try:
        assert find_platform(home).running
    finally:
        lock.release()


def test_pid_alive_treats_reaped_and_zombie_processes_as_gone() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid())
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    try:
        assert not pid_alive(zombie.pid)
    finally:
        zombie.wait()


def test_service_processes_get_their_identity_from_the_environment(tmp_path: Path) -> None:
    env = service_env(
        home=tmp_path, nats_url="nats://h:1", instance="metadata-1", base={"KEEP": "1"}
    )
    assert env == {
        "KEEP": "1",
        "HEADRACE_HOME": str(tmp_path),
        "HEADRACE_NATS_URL": "nats://h:1",
        "HEADRACE_INSTANCE_ID": "metadata-1",
        "PYTHONUNBUFFERED": "1",
    }
    env = service_env(
        home=tmp_path,
        nats_url="n",
        instance="i",
        database_url="sqlite:///x",
        artifacts="s3://b",
        base={},
    )
    assert env["HEADRACE_DATABASE_URL"] == "sqlite:///x"
    assert env["HEADRACE_ARTIFACTS"] == "s3://b"


def test_service_command_prefers_the_console_script() -> None:
    [script] = service_command("metadata")
    assert Path(script) == Path(sys.executable).parent / "headrace-metadata"
    fallback = service_command("nonexistent")
    assert fallback[:2] == [sys.executable, "-c"]
    assert "headrace_nonexistent.app" in fallback[2]
