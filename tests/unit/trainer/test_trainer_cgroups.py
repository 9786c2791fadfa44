"""Detecting where step memory limits can be enforced (cgroup v2, else v1), on folders laid
out as the kernel lays out /proc and /sys/fs/cgroup; enforcement itself where this machine
allows (cgroup v1 on the CI machine, v2 elsewhere).
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from headrace_contracts import Resources, StepReady
from headrace_trainer.backends import ReplicaState
from headrace_trainer.backends.local.limits import limit
from headrace_trainer.capacity import Machine
from headrace_trainer.cgroups import (
    Enforcer,
    EnforcerV1,
    StepCgroup,
    StepCgroupV1,
    own_cgroup,
    probe,
)
from headrace_trainer.cgroups_v1 import oom_killed_v1, v1_folder
from headrace_trainer.placement import Placement

NO_V1 = (
    "this process is in no mounted cgroup v1 memory hierarchy (no memory line in "
    "/proc/self/cgroup, or no cgroup mount with the memory option): mount one, or set "
    "HEADRACE_TRAINER_CGROUP to a cgroup v1 memory folder"
)


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


def fake_v1(path: Path, *files: str) -> Path:
    """A cgroup v1 folder: ``cgroup.procs`` and the named control files, as the kernel has
    them before anything is written (no limit)."""
    path.mkdir(parents=True)
    (path / "cgroup.procs").write_text("")
    for name in files:
        (path / name).write_text("9223372036854771712")
    return path


MEMORY_V1 = ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.failcnt")
CPU_V1 = ("cpu.cfs_quota_us", "cpu.cfs_period_us")


def v1_machine(tmp_path: Path, cpu: bool = True) -> tuple[Path, Path, Path]:
    """/proc/self and the trainer's memory and cpu cgroups of a machine like the CI one:
    v1 controllers each on their own mount, and a unified mount with no controllers."""
    mounts = tmp_path / "sys"
    memory = fake_v1(mounts / "memory/process_api/abc", *MEMORY_V1)
    cpus = fake_v1(mounts / "cpu", *(CPU_V1 if cpu else ()))
    proc = fake_proc(
        tmp_path,
        "8:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n",
        f"32 31 0:29 / {mounts}/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        f"35 31 0:32 / {mounts}/memory rw,relatime - cgroup cgroup rw,memory\n"
        f"41 31 0:38 / {mounts}/unified rw,relatime - cgroup2 cgroup2 rw\n",
    )
    fake_cgroup(mounts / "unified", subtree="")
    return proc, memory, cpus


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
    proc = fake_proc(tmp_path, "0::/trainer.service\n", "")
    found = probe("", own=own, proc=proc)
    assert found == (
        f"the memory controller is not enabled for children of {own} (it is not in its "
        "cgroup.subtree_control): delegate a cgroup to the trainer and point "
        "HEADRACE_TRAINER_CGROUP at it, or add +memory to its cgroup.subtree_control; "
        f"nor can cgroup v1 be used: {NO_V1}"
    )
    assert (own / "cgroup.subtree_control").read_text() == "cpu"


def test_a_configured_cgroup_gets_the_memory_controller_enabled(tmp_path: Path) -> None:
    parent = fake_cgroup(tmp_path / "headrace", subtree="")
    assert probe(str(parent)) == Enforcer(parent)
    assert (parent / "cgroup.subtree_control").read_text() == "+memory"


def test_a_folder_that_is_no_cgroup_is_refused(tmp_path: Path) -> None:
    assert probe(str(tmp_path)) == (
        f"{tmp_path} is neither a cgroup v2 folder (no cgroup.subtree_control) nor a cgroup "
        "v1 memory folder (no memory.limit_in_bytes): set HEADRACE_TRAINER_CGROUP to one"
    )


def test_a_machine_without_any_cgroup_hierarchy_says_so_for_both(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, "", "")
    assert probe("", proc=proc) == (
        "this machine has no cgroup v2 hierarchy for the trainer: run it where /sys/fs/cgroup "
        f"is cgroup2, or set HEADRACE_TRAINER_CGROUP; nor can cgroup v1 be used: {NO_V1}"
    )


# cgroup v1 --------------------------------------------------------------------------------


def test_v1_folders_are_found_per_controller_under_their_mounts() -> None:
    cgroup = "11:cpu,cpuacct:/user.slice\n4:memory:/process_api/abc\n0::/\n"
    mountinfo = (
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    )
    assert v1_folder(cgroup, mountinfo, "memory") == Path("/sys/fs/cgroup/memory/process_api/abc")
    assert v1_folder(cgroup, mountinfo, "cpu") == Path("/sys/fs/cgroup/cpu,cpuacct/user.slice")
    assert v1_folder(cgroup, mountinfo, "pids") is None
    assert v1_folder("4:memory:/x\n", mountinfo.splitlines()[2], "memory") is None


def test_a_v1_mount_of_part_of_the_hierarchy_is_followed() -> None:
    """In a container the mount's root is the container's cgroup, not the hierarchy's."""
    mountinfo = "120 110 0:32 /docker/c1 /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n"
    assert v1_folder("4:memory:/docker/c1/job\n", mountinfo, "memory") == Path(
        "/sys/fs/cgroup/memory/job"
    )
    assert v1_folder("4:memory:/elsewhere\n", mountinfo, "memory") is None


def test_without_a_v2_memory_controller_the_v1_memory_cgroup_enforces(tmp_path: Path) -> None:
    proc, memory, cpus = v1_machine(tmp_path)
    found = probe("", proc=proc)
    assert found == EnforcerV1(memory, cpu=cpus)
    assert isinstance(found, EnforcerV1)
    group = found.create(memory_max=64 * 1024**2, cpu_max=0.5)
    assert group.path.parent == memory
    assert group.cpu_path == cpus / group.path.name
    assert (group.path / "memory.limit_in_bytes").read_text() == str(64 * 1024**2)
    assert (group.path / "memory.memsw.limit_in_bytes").read_text() == str(64 * 1024**2)
    assert (group.cpu_path / "cpu.cfs_quota_us").read_text() == "50000"
    assert (group.cpu_path / "cpu.cfs_period_us").read_text() == "100000"
    group.add(4242)
    assert (group.path / "cgroup.procs").read_text() == "4242"
    assert (group.cpu_path / "cgroup.procs").read_text() == "4242"


def test_a_v1_step_without_a_cpu_limit_gets_no_cpu_folder(tmp_path: Path) -> None:
    proc, memory, cpus = v1_machine(tmp_path)
    found = probe("", proc=proc)
    assert isinstance(found, EnforcerV1)
    group = found.create(memory_max=64 * 1024**2, cpu_max=None)
    assert group.folders == [group.path]
    assert group.path.parent == memory
    assert not group.cpu_limited
    assert [p.name for p in cpus.iterdir() if p.is_dir()] == []


def test_a_configured_v1_folder_is_used_and_its_comounted_cpu_controller_too(
    tmp_path: Path,
) -> None:
    parent = fake_v1(tmp_path / "cpu,memory/headrace", *MEMORY_V1, *CPU_V1)
    found = probe(str(parent), proc=fake_proc(tmp_path, "", ""))
    assert found == EnforcerV1(parent, cpu=parent)
    assert isinstance(found, EnforcerV1)
    group = found.create(memory_max=1024**3, cpu_max=2)
    assert group.folders == [group.path]
    assert (group.path / "cpu.cfs_quota_us").read_text() == "200000"


def test_without_a_v1_cpu_hierarchy_cpu_limits_are_reported_not_enforced(
    tmp_path: Path,
) -> None:
    proc, memory, _ = v1_machine(tmp_path, cpu=False)
    found = probe("", proc=proc)
    why = (
        "this process is in no mounted cgroup v1 cpu hierarchy with cpu.cfs_quota_us "
        "(mount the cpu controller)"
    )
    assert found == EnforcerV1(memory, cpu_unenforced=why)
    assert isinstance(found, EnforcerV1)
    machine = Machine(cpus=Decimal(4), memory=8 * 1024**3, gpus=())
    step = StepReady(
        run_id="r",
        step_id="root/train",
        task_name="train",
        executor={"image": "python:3.11"},
        resources=Resources(memory_limit="64Mi", cpu_limit="2"),
    )
    placement = Placement(machine, found)
    limits = limit(found, placement.resources(step))
    assert limits.cgroup is not None
    assert (limits.cgroup.path / "memory.limit_in_bytes").read_text() == str(64 * 1024**2)
    state = ReplicaState("step", 0, cpu_unenforced=limits.cpu_unenforced)
    assert placement.limit_notices(step, state) == [
        f"the CPU limit 2 of step 'train' is not enforced: {why}"
    ]


def test_an_out_of_memory_kill_is_read_from_v1_oom_control(tmp_path: Path) -> None:
    assert oom_killed_v1("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "12", None)
    assert not oom_killed_v1("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "12", -9)
    group = StepCgroupV1(tmp_path)
    (tmp_path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom_killed()


def test_before_kernel_4_13_a_hit_limit_and_a_sigkill_count_as_an_oom_kill() -> None:
    old = "oom_kill_disable 0\nunder_oom 0\n"
    assert oom_killed_v1(old, "3\n", -9)
    assert oom_killed_v1(old, "3\n", 137)
    assert not oom_killed_v1(old, "3\n", 1)
    assert not oom_killed_v1(old, "0\n", -9)


def test_an_out_of_memory_kill_is_read_from_memory_events(tmp_path: Path) -> None:
    group = StepCgroup(tmp_path)
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_killed()
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
    assert not group.oom_killed()


async def test_a_process_over_its_memory_limit_is_killed_where_enforced() -> None:
    """On this machine's own cgroup (v1 on the CI machine: the limit there is written before
    memory+swap, or the kernel refuses the latter). Skipped only without v2 or v1."""
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
        assert group.oom_killed(process.returncode)
    finally:
        group.remove()
    assert not group.path.exists()


async def test_a_process_under_its_limits_is_not_counted_as_killed() -> None:
    enforcer = probe()
    if isinstance(enforcer, str):
        pytest.skip(f"memory limits cannot be enforced on this machine: {enforcer}")
    group = enforcer.create(memory_max=256 * 1024**2, cpu_max=0.5)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdin.read(); b = bytearray(16 * 1024**2)",
            stdin=asyncio.subprocess.PIPE,
        )
        group.add(process.pid)
        await process.communicate(b"")
        assert process.returncode == 0
        assert not group.oom_killed(process.returncode)
        assert group.cpu_limited, enforcer.cpu_unenforced
    finally:
        group.remove()
    assert not group.path.exists()
