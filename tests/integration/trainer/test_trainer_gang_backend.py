"""The local workload backend: gangs of real Python replica processes on this machine, with
a pretend GPU inventory, a real artifact store and real records on disk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from gang_support import gang, machine, pids_in, python, replica, running, waits

from headrace_artifacts import FileStore
from headrace_testing import wait_for
from headrace_trainer.backends import GangEvent, Phase, ReplicaLaunch, ReplicaResources
from headrace_trainer.backends.local import LocalBackend
from headrace_trainer.backends.local.backend import _free_ports
from headrace_trainer.capacity import Capacity
from headrace_trainer.cgroups import probe
from headrace_trainer.errors import GangInvalid, GangRefused, UnknownGang, WorkloadError


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "artifacts")


@pytest.fixture
async def backend(tmp_path: Path, store: FileStore) -> AsyncIterator[LocalBackend]:
    found = LocalBackend(
        tmp_path / "gangs", Capacity(machine(gpus=4)), store=store, log_upload_seconds=0.1
    )
    yield found
    for gang_id in list(found._runs):
        await found.stop(gang_id, grace=0.5)
    await found.close()


async def collect(backend: LocalBackend, gang_id: str) -> list[GangEvent]:
    return [event async for event in backend.events(gang_id)]


# A replica that shows its environment, then waits until every replica of the gang has
# started (a barrier on files): it can only end if all run at the same time.
BARRIER = """
import json, os, pathlib, time
folder = pathlib.Path(os.environ["FOLDER"])
keys = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES")
seen = {k: os.environ[k] for k in keys}
(folder / f"rank-{os.environ['RANK']}.json").write_text(json.dumps(seen))
deadline = time.time() + 30
while len(list(folder.glob("rank-*.json"))) < int(os.environ["WORLD_SIZE"]):
    assert time.time() < deadline, "the other replicas never started"
    time.sleep(0.02)
"""


async def test_a_gang_starts_together_with_its_env_and_distinct_gpus(
    backend: LocalBackend, tmp_path: Path
) -> None:
    meeting = await backend.rendezvous("train", ports=2)
    assert meeting.host == "127.0.0.1"
    assert len(set(meeting.ports)) == 2
    assert await backend.rendezvous("train") == meeting  # the same until the gang is removed
    other = await backend.rendezvous("another")
    assert other.port not in meeting.ports
    world = 3
    replicas = [
        replica(
            "master" if rank == 0 else "worker",
            0 if rank == 0 else rank - 1,
            BARRIER,
            gpus=1,
            env={
                "FOLDER": str(tmp_path),
                "RANK": str(rank),
                "WORLD_SIZE": str(world),
                "MASTER_ADDR": meeting.host,
                "MASTER_PORT": str(meeting.port),
            },
        )
        for rank in range(world)
    ]
    handle = await backend.start(gang("train", *replicas))
    assert (handle.gang_id, handle.attempt) == ("train", 1)
    assert [state.phase for state in handle.replicas] == [Phase.RUNNING] * world

    events = await collect(backend, "train")
    assert [event.kind for event in events[:world]] == ["started"] * world
    exits = [event.replica for event in events if event.kind == "exited"]
    assert sorted((s.name, s.phase, s.exit_code) for s in exits) == [
        ("master-0", Phase.SUCCEEDED, 0),
        ("worker-0", Phase.SUCCEEDED, 0),
        ("worker-1", Phase.SUCCEEDED, 0),
    ]
    seen = [json.loads((tmp_path / f"rank-{rank}.json").read_text()) for rank in range(world)]
    assert {env["MASTER_PORT"] for env in seen} == {str(meeting.port)}
    devices = [env["CUDA_VISIBLE_DEVICES"] for env in seen]
    assert sorted(devices) == ["0", "1", "2"]  # distinct devices, one each
    assert sorted(d for s in backend.states("train") for d in s.devices) == ["0", "1", "2"]
    assert backend.capacity.gpus == ["0", "1", "2", "3"]  # all handed back


async def test_a_gang_that_ended_gives_its_rendezvous_ports_back(
    backend: LocalBackend, tmp_path: Path
) -> None:
    """Ports stay reserved only while their gang may still run: after 20,000 one-replica jobs
    the reserved set had grown to most of the ephemeral range, and each new gang bound
    thousands of sockets looking for a port outside it."""
    await backend.rendezvous("ended")
    waiting = await backend.rendezvous("not-started")
    await backend.start(gang("ended", replica("master", 0, "pass")))
    await collect(backend, "ended")
    fresh = await backend.rendezvous("fresh")
    assert set(backend._rendezvous) == {"not-started", "fresh"}
    assert fresh.port != waiting.port  # a gang that may still start keeps its port

    with pytest.raises(WorkloadError) as no_port:
        _free_ports("127.0.0.1", 1, set(range(65536)))
    assert str(no_port.value).startswith("no 1 free TCP port(s) on 127.0.0.1 for a gang's ")
    assert str(no_port.value).endswith(
        "tries (65536 held by other gangs): free ports or run fewer gangs at once"
    )


async def test_a_crashing_replica_is_seen_with_its_exit_code(
    backend: LocalBackend, tmp_path: Path
) -> None:
    crash = replica("worker", 1, "import sys; print('boom', flush=True); sys.exit(3)")
    await backend.start(gang("crash", waits("master", 0, tmp_path), crash))
    events = backend.events("crash")
    first_exit = None
    async for event in events:
        if event.kind == "exited":
            first_exit = event.replica
            break
    assert first_exit is not None
    assert (first_exit.name, first_exit.phase, first_exit.exit_code) == ("worker-1", "Failed", 3)
    assert first_exit.reason == "exited with code 3"
    master = backend.states("crash")[0]
    assert master.phase == Phase.RUNNING  # the policy (restart, fail) is the caller's
    assert [line async for line in backend.logs("crash", "worker", 1)] == ["boom"]
    states = await backend.stop("crash", grace=5)
    assert (states[0].phase, states[0].reason) == (Phase.FAILED, "stopped")


async def test_stop_leaves_nothing_running(backend: LocalBackend, tmp_path: Path) -> None:
    stubborn = ReplicaLaunch(
        role="worker",
        index=1,
        argv=python(
            "import os, signal, time, pathlib\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"pathlib.Path({str(tmp_path)!r}, 'worker-1.pids').write_text(str(os.getpid()))\n"
            "time.sleep(120)\n"
        ),
    )
    await backend.start(
        gang("stop", waits("master", 0, tmp_path), waits("worker", 0, tmp_path), stubborn)
    )
    files = [tmp_path / f"{name}.pids" for name in ("master-0", "worker-0", "worker-1")]
    await wait_for(lambda: all(f.exists() and f.read_text() for f in files), what="replicas")
    pids = [pid for f in files for pid in pids_in(f)]
    pids += [state.pid for state in backend.states("stop") if state.pid]
    assert len(pids) == 8  # 3 supervisors, 3 commands, 2 children of theirs
    assert all(running(pid) for pid in pids)

    states = await backend.stop("stop", grace=0.5)

    assert [s.phase for s in states] == [Phase.FAILED] * 3
    sigterm, sigkill = -signal.SIGTERM, -signal.SIGKILL  # the last one ignores SIGTERM
    assert [s.exit_code for s in states] == [sigterm, sigterm, sigkill]
    await wait_for(lambda: not any(running(pid) for pid in pids), 5, "every process to end")
    assert backend.capacity.gpus == ["0", "1", "2", "3"]


async def test_a_gang_asking_for_more_gpus_than_the_machine_has_is_refused_at_once(
    backend: LocalBackend,
) -> None:
    big = gang("big", *(replica("worker", i, "pass", gpus=2) for i in range(3)))
    with pytest.raises(GangRefused) as refused:
        await backend.start(big)
    message = str(refused.value)
    assert "gang 'big' (3 replicas) asks for 6 GPUs" in message
    assert "worker-0: 2" in message
    assert "this machine has 4" in message
    assert backend.refusal(big) == message


async def test_a_gang_waits_for_gpus_another_gang_holds(
    backend: LocalBackend, tmp_path: Path
) -> None:
    holder = gang("holder", *(waits("worker", i, tmp_path, gpus=2) for i in range(2)))
    await backend.start(holder)
    waiting = asyncio.create_task(
        backend.start(gang("waiter", replica("worker", 0, "pass", gpus=1)))
    )
    await asyncio.sleep(0.3)  # nothing to await: the waiter must still be waiting
    assert not waiting.done()
    assert [s.phase for s in backend.states("waiter")] == [Phase.PENDING]
    (tmp_path / "release").touch()
    handle = await asyncio.wait_for(waiting, 15)
    assert handle.replicas[0].devices == ("0",)
    assert [s.exit_code for s in await backend.wait("waiter")] == [0]


async def test_a_waiting_gang_stopped_starts_nothing(backend: LocalBackend, tmp_path: Path) -> None:
    holder = gang("holder", waits("worker", 0, tmp_path, gpus=4))
    await backend.start(holder)
    waiting = asyncio.create_task(
        backend.start(gang("waiter", replica("worker", 0, "pass", gpus=1)))
    )
    await wait_for(lambda: "waiter" in backend._runs, what="the waiter to wait")
    await backend.stop("waiter")
    with pytest.raises(WorkloadError, match="stopped while it waited for resources"):
        await waiting
    assert [s.pid for s in backend.states("waiter")] == [None]


async def test_logs_are_followable_while_the_replica_runs_and_kept_in_the_store(
    backend: LocalBackend, store: FileStore, tmp_path: Path
) -> None:
    release = str(tmp_path / "release")
    code = textwrap.dedent(
        f"""
        import pathlib, time
        print("epoch 1 loss=0.9", flush=True)
        while not pathlib.Path({release!r}).exists():
            time.sleep(0.02)
        print("epoch 2 loss=0.5", flush=True)
        print("done", end="", flush=True)
        """
    )
    await backend.start(gang("logs", replica("master", 0, code)))
    lines = backend.logs("logs", "master", 0, follow=True)
    assert await asyncio.wait_for(anext(lines), 10) == "epoch 1 loss=0.9"
    assert backend.states("logs")[0].phase == Phase.RUNNING  # followed while it runs
    key = "gangs/test/master-0/log.txt"
    await wait_for(lambda: store.exists(key), what="the log in the store while it runs")
    (tmp_path / "release").touch()
    assert [line async for line in lines] == ["epoch 2 loss=0.5", "done"]
    await backend.wait("logs")
    with store.open_read(key) as stored:
        assert stored.read().decode() == "epoch 1 loss=0.9\nepoch 2 loss=0.5\ndone"


HOST = """
import asyncio, sys, json
from decimal import Decimal
from pathlib import Path
from headrace_trainer.backends import Gang, ReplicaLaunch, ReplicaResources
from headrace_trainer.backends.local import LocalBackend
from headrace_trainer.backends.local.backend import _free_ports
from headrace_trainer.capacity import Capacity, Machine

async def main():
    root, folder = Path(sys.argv[1]), sys.argv[2]
    machine = Machine(cpus=Decimal(4), memory=1 << 34, gpus=("0", "1"))
    backend = LocalBackend(root, Capacity(machine))
    code = ("import os, pathlib, sys, time\\n"
            "print('up', flush=True)\\n"
            "while not pathlib.Path(os.environ['FOLDER'], 'release').exists(): time.sleep(0.02)\\n"
            "print('bye', flush=True); sys.exit(int(os.environ['CODE']))\\n")
    replicas = tuple(
        ReplicaLaunch(role, 0, (sys.executable, "-u", "-c", code),
                      env={"FOLDER": folder, "CODE": exit_code},
                      resources=ReplicaResources(gpus=1))
        for role, exit_code in (("master", "0"), ("worker", "4"))
    )
    handle = await backend.start(Gang("adopt-me", replicas, attempt=2))
    print(json.dumps([state.pid for state in handle.replicas]), flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


async def test_a_new_backend_adopts_a_gang_whose_trainer_was_killed(tmp_path: Path) -> None:
    root = tmp_path / "gangs"
    host = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOST, str(root), str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    assert host.stdout is not None
    pids = json.loads(await asyncio.wait_for(host.stdout.readline(), 30))
    host.kill()  # the trainer dies (kill -9), its replicas run on
    await host.wait()
    assert all(running(pid) for pid in pids)

    capacity = Capacity(machine(gpus=2))
    backend = LocalBackend(root, capacity)
    try:
        assert backend.recorded() == ["adopt-me"]
        handle = await backend.adopt("adopt-me")
        assert handle is not None
        assert (handle.adopted, handle.attempt) == (True, 2)
        assert [(s.name, s.phase, s.pid) for s in handle.replicas] == [
            ("master-0", Phase.RUNNING, pids[0]),
            ("worker-0", Phase.RUNNING, pids[1]),
        ]
        assert capacity.gpus == []  # the adopted replicas hold their GPUs again
        logs = backend.logs("adopt-me", "worker", 0, follow=True)
        assert await asyncio.wait_for(anext(logs), 10) == "up"
        (tmp_path / "release").touch()
        assert [line async for line in logs] == ["bye"]
        states = await asyncio.wait_for(backend.wait("adopt-me"), 15)
        assert [(s.phase, s.exit_code) for s in states] == [(Phase.SUCCEEDED, 0), (Phase.FAILED, 4)]
        events = await collect(backend, "adopt-me")
        assert [e.kind for e in events] == ["adopted", "adopted", "exited", "exited"]
        assert capacity.gpus == ["0", "1"]
        assert await backend.adopt("nothing-here") is None
        await backend.remove("adopt-me")
        assert backend.recorded() == []
    finally:
        (tmp_path / "release").touch()
        await backend.close()


async def test_a_command_that_does_not_exist_starts_no_replica(
    backend: LocalBackend, tmp_path: Path
) -> None:
    missing = ReplicaLaunch("worker", 0, ("no-such-trainer-command",))
    with pytest.raises(WorkloadError) as error:
        await backend.start(gang("missing", waits("master", 0, tmp_path), missing))
    assert "replica worker-0 of gang 'missing' runs command 'no-such-trainer-command'" in str(
        error.value
    )
    assert "install it, put it on PATH" in str(error.value)
    assert not (tmp_path / "master-0.pids").exists()
    assert not backend.recorded()


async def test_unknown_gangs_and_replicas_are_named(backend: LocalBackend, tmp_path: Path) -> None:
    with pytest.raises(UnknownGang, match="gang 'ghost' is neither running nor adopted"):
        backend.states("ghost")
    with pytest.raises(UnknownGang, match="gang 'ghost' has no records on this machine"):
        backend.logs("ghost", "master", 0)
    await backend.start(gang("one", replica("master", 0, "pass")))
    with pytest.raises(UnknownGang, match=r"has no replica worker-3 \(it has: master-0\)"):
        backend.logs("one", "worker", 3)
    with pytest.raises(WorkloadError, match="gang 'one' runs already"):
        await backend.start(gang("one", replica("master", 0, "pass")))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: gang("g"), "gang 'g' has no replicas"),
        (lambda: gang("", replica("master", 0, "pass")), "a gang needs an id"),
        (
            lambda: gang("g", replica("worker", 0, "pass"), replica("worker", 0, "pass")),
            "lists replica\\(s\\) worker-0 more than once",
        ),
        (lambda: ReplicaLaunch("Worker_1", 0, ("true",)), "role 'Worker_1' is not a DNS label"),
        (lambda: ReplicaLaunch("worker", -1, ("true",)), "index -1; it must be >= 0"),
        (lambda: ReplicaLaunch("worker", 0, ()), "replica worker-0 has an empty command"),
        (lambda: gang("g", replica("master", 0, "pass"), attempt=0), "attempt 0; it counts from 1"),
    ],
)
def test_bad_gangs_are_refused_with_what_to_change(build: object, message: str) -> None:
    with pytest.raises(GangInvalid, match=message):
        build()  # type: ignore[operator]


async def test_a_replica_over_its_memory_limit_is_killed_and_named(
    tmp_path: Path, store: FileStore
) -> None:
    enforcer = probe()
    if isinstance(enforcer, str):
        pytest.skip(f"memory limits cannot be enforced here: {enforcer}")
    backend = LocalBackend(tmp_path / "gangs", Capacity(machine()), enforcer=enforcer)
    hungry = ReplicaLaunch(
        "worker",
        0,
        python(
            "print(open('/proc/self/cgroup').read(), flush=True)\n"
            "hoard = [bytearray(16 << 20) for _ in range(64)]\n"
        ),
        resources=ReplicaResources(memory_limit=64 << 20),
    )
    try:
        await backend.start(gang("hungry", hungry))
        (state,) = await asyncio.wait_for(backend.wait("hungry"), 30)
        assert state.exit_code == -signal.SIGKILL
        assert "more memory than its limit" in state.reason
        cgroup = ""
        async for line in backend.logs("hungry", "worker", 0):
            cgroup += line
        assert "headrace-step-" in cgroup  # the command ran inside the replica's cgroup
    finally:
        await backend.close()


async def test_a_closed_backend_leaves_its_gang_running_for_the_next_to_adopt(
    tmp_path: Path, store: FileStore
) -> None:
    root = tmp_path / "gangs"
    first = LocalBackend(root, Capacity(machine()))
    await first.start(gang("kept", waits("master", 0, tmp_path), waits("worker", 0, tmp_path, 5)))
    pids = [state.pid for state in first.states("kept")]
    await first.close()  # the trainer stops gracefully: its gangs run on
    assert all(pid is not None and running(pid) for pid in pids)

    second = LocalBackend(root, Capacity(machine()), store=store)
    try:
        handle = await second.adopt("kept")
        assert handle is not None
        assert [s.phase for s in handle.replicas] == [Phase.RUNNING, Phase.RUNNING]
        (tmp_path / "release").touch()
        states = await asyncio.wait_for(second.wait("kept"), 15)
        assert [(s.name, s.exit_code) for s in states] == [("master-0", 0), ("worker-0", 5)]
        assert states[1].reason == "exited with code 5"
        with store.open_read("gangs/test/worker-0/log.txt") as stored:
            assert stored.read().decode() == "waiting worker-0\n"
    finally:
        (tmp_path / "release").touch()
        await second.close()


def _waiting_spares() -> list[int]:
    """This process's children that are replica supervisors started ahead (`Spares`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == os.getpid() and b"import serve" in cmdline and running(int(entry.name)):
            found.append(int(entry.name))
    return found


async def test_replicas_started_by_supervisors_started_ahead_behave_as_any(
    backend: LocalBackend, tmp_path: Path
) -> None:
    # The first gang's supervisors start cold; the backend then keeps spares for the next.
    await backend.start(gang("first", replica("master", 0, "print('cold')")))
    await collect(backend, "first")
    await wait_for(lambda: len(_waiting_spares()) == 2, timeout=10)
    spares = _waiting_spares()

    shows = "import os, sys; print(os.environ['SHOW'], os.getcwd(), flush=True); sys.exit(3)"
    folder = tmp_path / "work"
    folder.mkdir()
    warm = [
        replace(replica(role, 0, shows, env={"SHOW": f"hello {role}"}), cwd=folder)
        for role in ("master", "worker")
    ]
    handle = await backend.start(gang("second", *warm))
    assert sorted(s.pid for s in handle.replicas) == sorted(spares)  # the spares ran them
    events = await collect(backend, "second")
    exits = sorted((e.replica.name, e.replica.exit_code) for e in events if e.kind == "exited")
    assert exits == [("master-0", 3), ("worker-0", 3)]
    for role in ("master", "worker"):
        lines = [line async for line in backend.logs("second", role, 0)]
        assert lines == [f"hello {role} {folder}"]  # its env, its folder, its log

    # Two more were started for the next gangs; closing ends them, having run nothing.
    await wait_for(lambda: len(_waiting_spares()) == 2, timeout=10)
    await backend.close()
    assert _waiting_spares() == []
