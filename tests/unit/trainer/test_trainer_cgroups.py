"""Detecting where step memory limits can be enforced (cgroup v2), on folders laid out as
the kernel lays out /proc and /sys/fs/cgroup; enforcement itself where this machine allows.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from headrace_trainer.cgroups import Enforcer, StepCgroup, own_cgroup, probe


def fake_proc(tmp_path: Path, cgroup: str, mountinfo: str) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text(mountinfo)
    return proc


def fake_cgroup(path: Path, subtree: str = "cpu memory pids") -> Path:
    path.mkdir(parents=True)
    (path / "cgroup.subtree_control").write_text(subtree)
    return path


def test_own_cgroup_is_found_in_the_unified_hierarchy(tmp_path: Path) -> None:
    proc = fake_proc(
        tmp_path,
        "0::/user.slice/trainer.service\n",
        "22 1 0:21 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n",
    )
    assert own_cgroup(proc) == Path("/sys/fs/cgroup/user.slice/trainer.service")


def test_a_v1_only_machine_has_no_own_cgroup(tmp_path: Path) -> None:
    proc = fake_proc(
        tmp_path,
        "4:memory:/x\n1:cpu:/\n",
        "30 1 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
    )
    assert own_cgroup(proc) is None


def test_a_delegated_cgroup_with_memory_enabled_enforces(tmp_path: Path) -> None:
    parent = fake_cgroup(tmp_path / "headrace")
    found = probe(str(parent))
    assert found == Enforcer(parent)
    assert isinstance(found, Enforcer)
    group = found.create(memory_max=64 * 1024**2, cpu_max=None)
    assert (group.path / "memory.max").read_text() == str(64 * 1024**2)
    assert group.path.parent == parent


def test_the_trainers_own_cgroup_without_the_memory_controller_is_left_alone(
    tmp_path: Path,
) -> None:
    own = fake_cgroup(tmp_path / "trainer.service", subtree="cpu")
    found = probe("", own=own)
    assert found == (
        f"the memory controller is not enabled for children of {own} (it is not in its "
        "cgroup.subtree_control): delegate a cgroup to the trainer and point "
        "HEADRACE_TRAINER_CGROUP at it, or add +memory to its cgroup.subtree_control"
    )
    assert (own / "cgroup.subtree_control").read_text() == "cpu"


def test_a_configured_cgroup_gets_the_memory_controller_enabled(tmp_path: Path) -> None:
    parent = fake_cgroup(tmp_path / "headrace", subtree="")
    assert probe(str(parent)) == Enforcer(parent)
    assert (parent / "cgroup.subtree_control").read_text() == "+memory"


def test_a_folder_that_is_no_cgroup_is_refused(tmp_path: Path) -> None:
    assert probe(str(tmp_path)) == (
        f"{tmp_path} is not a cgroup v2 folder: set HEADRACE_TRAINER_CGROUP to one"
    )


def test_an_out_of_memory_kill_is_read_from_memory_events(tmp_path: Path) -> None:
    group = StepCgroup(tmp_path)
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_killed()
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
    assert not group.oom_killed()


async def test_a_process_over_its_memory_limit_is_killed_where_enforced() -> None:
    enforcer = probe()
    if isinstance(enforcer, str):
        pytest.skip(f"memory limits cannot be enforced on this machine: {enforcer}")
    group = enforcer.create(memory_max=32 * 1024**2, cpu_max=None)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdin.read(); b = bytearray(256 * 1024**2)",
            stdin=asyncio.subprocess.PIPE,
        )
        group.add(process.pid)
        await process.communicate(b"")
        assert process.returncode == -9
        assert group.oom_killed()
    finally:
        group.remove()
