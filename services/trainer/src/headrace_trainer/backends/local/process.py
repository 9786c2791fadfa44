"""One replica's process: started under a supervisor that outlives the trainer, and followed
to its exit code whether this trainer started it or adopted it.

Why a supervisor per replica, and why the fork server's `shim`: a replica must go on running
when the trainer dies, and its exit code must still be known to the trainer that adopts it.
The shim does exactly that for steps already: it runs in a session of its own (so a signal
to the trainer's process group does not reach it), claims the replica's process record
before the command runs, and writes the command's exit record before reaping it. The warm
fork server is not used for replicas: it exists to fork kfp's executor with its imports
done, while a replica runs any command (``torchrun``, ``python train.py``), and a replica
must not depend on one shared server process staying up. The shim costs one small Python
start per replica (it imports nothing from Headrace but the records module), and that start
is not waited for: the backend keeps one shim started ahead (`Spares`), which takes the
next replica's launch on stdin, so a job starts as soon as it is asked for.

The shim leads the replica's process group, so signalling the group (`kill_group`) reaches
the command and its children; the shim ignores SIGTERM and records what the command does.

A replica started with a `Runner` (a pipeline step: the warm fork server, or a plain
subprocess under the same shim) is `Launched`: the runner writes the same records, and its
process leads its own process group too.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

from ...adopt import Adopted
from ...errors import StepError, StepLost, WorkloadError
from ...executor.runner import Launch, Records, Running, resolve_program
from ...forkserver import records
from ..base import ReplicaLaunch
from .records import ReplicaFolder

__all__ = [
    "Launched",
    "Lost",
    "Spares",
    "Supervised",
    "claimed",
    "command_of",
    "environment",
    "runner_launch",
    "spawn",
]

CLAIM_POLL_SECONDS = 0.005
POLL_SECONDS = 0.1


class Lost(Exception):
    """The replica ended while no trainer watched it, and its exit was not recorded."""


def command_of(gang_id: str, launch: ReplicaLaunch, env: dict[str, str], cwd: Path) -> str:
    """The program the replica runs (resolved on its PATH); `WorkloadError` naming the
    replica when it does not exist or cannot run."""
    try:
        return resolve_program(launch.argv[0], env, cwd)
    except StepError as error:
        raise WorkloadError(f"replica {launch.name} of gang '{gang_id}' {error}") from None


def spawn(
    program: str,
    launch: ReplicaLaunch,
    folder: ReplicaFolder,
    env: dict[str, str],
    cwd: Path,
    cgroups: tuple[str, ...],
    python: str = sys.executable,
    spares: Spares | None = None,
) -> subprocess.Popen[bytes]:
    """Start the replica's supervisor, appending stdout and stderr to its log: the spare
    one of ``spares`` when one is ready (then no Python start is waited for), else a new one.

    A plain `subprocess.Popen`, not an asyncio subprocess: asyncio kills a child whose
    transport is closed or collected, and a replica must outlive the trainer's event loop
    (a trainer that stops gracefully leaves its gangs running for the next to adopt)."""
    joins = [part for group in cgroups for part in ("--join", str(Path(group) / "cgroup.procs"))]
    shim = [*joins, str(folder.process), str(folder.exit), program, *launch.argv[1:]]
    spare = spares.take() if spares is not None and cwd.is_dir() else None
    if spare is not None:
        told = json.dumps({"log": str(folder.log), "cwd": str(cwd), "env": env, "argv": shim})
        try:
            assert spare.stdin is not None
            spare.stdin.write(told.encode() + b"\n")
            spare.stdin.close()
            return spare
        except OSError:  # it died meanwhile: start one the usual way
            spare.kill()
            spare.wait()
    argv = [python, "-m", "headrace_trainer.forkserver.shim", *shim]
    with folder.log.open("ab") as log:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class Spares:
    """Replica supervisors started ahead of their replicas (`shim.serve`, each waiting for
    its launch on stdin), so a replica starts as soon as it is asked for: `take` hands out
    the oldest (the one most surely up), `refill` starts new ones up to ``count`` (jobs may
    start in quick succession, faster than a Python starts), `close` ends those waiting
    (each exits having run nothing, as it does by itself when the trainer dies)."""

    BOOT = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); "
        "from headrace_trainer.forkserver.shim import serve; serve()"
    )

    def __init__(self, python: str = sys.executable, count: int = 2) -> None:
        self.python = python
        self.count = count
        self._ready: collections.deque[subprocess.Popen[bytes]] = collections.deque()

    def take(self) -> subprocess.Popen[bytes] | None:
        while self._ready:
            spare = self._ready.popleft()
            if spare.poll() is None:
                return spare
            # it ended (killed): not usable
        return None

    def refill(self) -> None:
        root = str(Path(records.__file__).resolve().parents[2])  # holds headrace_trainer
        while len(self._ready) < self.count:
            self._ready.append(
                subprocess.Popen(
                    [self.python, "-S", "-c", self.BOOT, root],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )

    def close(self) -> None:
        spares = list(self._ready)
        self._ready.clear()
        for spare in spares:
            if spare.stdin is not None:
                spare.stdin.close()
        for spare in spares:
            try:
                spare.wait(timeout=5)
            except subprocess.TimeoutExpired:
                spare.kill()
                spare.wait()


async def claimed(folder: ReplicaFolder, child: subprocess.Popen[bytes]) -> float | None:
    """When the supervisor claimed the replica's process record (its command then runs);
    None when it ended first. Until it is claimed, a trainer adopting the gang would void
    the replica, so a gang counts as started only once every replica claimed its record.
    Nothing signals the claim: the record is polled for, soon at first (a supervisor started
    ahead claims it within a millisecond), then every ``CLAIM_POLL_SECONDS``."""
    pause = CLAIM_POLL_SECONDS / 10
    while child.poll() is None:
        found = records.read_record(str(folder.process))
        if found is not None and found.get("pid") == child.pid:
            return float(found.get("started_at", 0.0))
        await asyncio.sleep(pause)
        pause = min(pause * 2, CLAIM_POLL_SECONDS)
    return None


class Supervised:
    """A replica's supervisor, this trainer's child or another's: `wait` gives the command's
    exit code (``-N``: signal N) from its exit record, or the supervisor's own end when it
    was killed before writing one (as SIGKILL to the group does)."""

    def __init__(
        self,
        pid: int,
        folder: ReplicaFolder,
        child: subprocess.Popen[bytes] | None = None,
        start: int = 0,
    ) -> None:
        self.pid = pid
        self.folder = folder
        self._child = child
        self._start = start

    @classmethod
    def adopted(cls, pid: int, start: int, folder: ReplicaFolder) -> Supervised:
        return cls(pid, folder, None, start)

    async def wait(self) -> int:
        """The exit code; `Lost` when an adopted replica ended without a record."""
        if self._child is not None:
            code = await _reaped(self._child)
            recorded = self._recorded()
            return recorded if recorded is not None else code
        try:
            return await Adopted(self.pid, self._start, self.folder.exit).wait()
        except StepLost as error:
            raise Lost(str(error)) from None

    def _recorded(self) -> int | None:
        found = records.read_record(str(self.folder.exit))
        if found is None or found.get("pid") != self.pid:
            return None
        return int(found["exit"])


async def _reaped(child: subprocess.Popen[bytes]) -> int:
    """Wait for this trainer's ``child`` to end (its pidfd turns readable), reap it, and give
    its exit status (``-N``: signal N)."""
    try:
        fd = os.pidfd_open(child.pid)
    except (AttributeError, OSError):
        # No pidfd here: nothing notifies of the end, so poll it.
        while child.poll() is None:  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS)
        return child.returncode
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(fd, readable)
    try:
        if child.poll() is None:
            await ended
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    return child.wait()


def environment(launch: ReplicaLaunch, devices: tuple[str, ...]) -> dict[str, str]:
    """The replica's environment: the trainer's, its own, and its GPUs (none: empty)."""
    return {**os.environ, **launch.env, "CUDA_VISIBLE_DEVICES": ",".join(devices)}


def runner_launch(
    launch: ReplicaLaunch, folder: ReplicaFolder, devices: tuple[str, ...], cwd: Path
) -> Launch:
    """What a `Runner` starts for the replica: its command or Python call, its own
    environment and GPUs (the runner adds the trainer's), its log and records."""
    return Launch(
        argv=list(launch.argv),
        cwd=cwd,
        log_path=folder.log,
        env={**launch.env, "CUDA_VISIBLE_DEVICES": ",".join(devices)},
        python=launch.python,
        records=Records(process=folder.process, exit=folder.exit),
    )


class Launched:
    """A replica a `Runner` started: `wait` gives its exit code (``-N``: signal N), or
    raises `ForkServerDied` when the fork server that ran it stopped."""

    def __init__(self, running: Running) -> None:
        self._running = running
        self.pid = running.pid

    async def wait(self) -> int:
        return await self._running.wait()
