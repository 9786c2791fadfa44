"""`LocalBackend`: gangs of replicas as processes on this machine (see `base` for the
interface).

A gang starts once CPUs, memory and GPUs for all of its replicas are free in the machine's
`Capacity` (shared with the step launcher's `Placement`, so steps and gangs never hold the
same GPU); each replica gets distinct GPUs through ``CUDA_VISIBLE_DEVICES`` (empty when it
asks for none), a cgroup for its limits where the machine allows it (see ``cgroups``), and
runs under a supervisor (`process`) in its own session, so it survives the trainer and its
exit is recorded (`records`). ``rendezvous`` hands out ``host`` (default ``127.0.0.1``)
and free TCP ports.

A gang started with a `Runner` (a pipeline step's execution) has its replicas' processes
started by that runner instead (the warm fork server), each then moved into its cgroup.
With ``concurrency``, at most that many gangs run at once: a gang admitted to its
resources then waits for one of these slots (an adopted gang takes none: it runs already).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from headrace_artifacts import ArtifactStore

from ...capacity import Capacity, Grant
from ...cgroups import AnyEnforcer, AnyStepCgroup, StepCgroup
from ...errors import ForkServerDied, GangRefused, GangStopped, UnknownGang, WorkloadError
from ...executor.control import kill_group
from ...executor.runner import Runner, describe_exit
from ..base import (
    Gang,
    GangEvent,
    GangHandle,
    Phase,
    Rendezvous,
    ReplicaLaunch,
    ReplicaState,
)
from . import logs
from .admission import deal_gpus, gang_demand, gang_refusal
from .limits import limit
from .process import (
    Launched,
    Lost,
    Spares,
    Supervised,
    claimed,
    command_of,
    environment,
    runner_launch,
    spawn,
)
from .records import GangFolder, Placed, ReplicaFolder, gang_folder_name, latest_attempt

__all__ = ["LocalBackend"]

log = logging.getLogger("headrace.trainer.backends.local")
LOST = (
    "its process ended while no trainer watched it, and its exit was not recorded "
    "(its supervisor was killed too)"
)


@dataclass
class _Replica:
    placed: Placed
    folder: ReplicaFolder
    state: ReplicaState
    cgroup: AnyStepCgroup | None = None

    @property
    def launch(self) -> ReplicaLaunch:
        return self.placed.launch


@dataclass
class _Run:
    """One gang attempt this backend follows."""

    gang: Gang
    folder: GangFolder
    replicas: list[_Replica]
    adopted: bool = False
    grant: Grant | None = None
    slot: bool = False
    history: list[GangEvent] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    spawned: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def states(self) -> tuple[ReplicaState, ...]:
        return tuple(replica.state for replica in self.replicas)

    def handle(self) -> GangHandle:
        return GangHandle(self.gang.id, self.gang.attempt, self.states(), self.adopted)

    def find(self, role: str, index: int) -> _Replica | None:
        return next(
            (r for r in self.replicas if r.launch.role == role and r.launch.index == index), None
        )

    async def emit(self, kind: Literal["started", "exited", "adopted"], replica: _Replica) -> None:
        event = GangEvent(self.gang.id, self.gang.attempt, kind, replica.state)
        async with self.changed:
            self.history.append(event)
            self.changed.notify_all()

    async def end(self) -> None:
        async with self.changed:
            self.ended.set()
            self.changed.notify_all()


class LocalBackend:
    """Gangs as local processes. ``root`` holds their records and logs (``<home>/gangs``);
    ``capacity`` is the machine's (share the launcher's `Placement.capacity`); ``enforcer``
    makes cgroups for limits, or says why it cannot (`cgroups.probe`); ``store`` keeps the
    replicas' logs under their ``log_key`` while they run and after."""

    name = "local"

    def __init__(
        self,
        root: Path,
        capacity: Capacity,
        *,
        enforcer: AnyEnforcer | str = "no cgroup enforcer was configured",
        store: ArtifactStore | None = None,
        host: str = "127.0.0.1",
        log_upload_seconds: float = 2.0,
        python: str = sys.executable,
        concurrency: int | None = None,
    ) -> None:
        self.root = root
        self.capacity = capacity
        self.enforcer = enforcer
        self.store = store
        self.host = host
        self.log_upload_seconds = log_upload_seconds
        self.python = python
        self._slots = asyncio.Semaphore(concurrency) if concurrency else None
        self._warned = False
        self._runs: dict[str, _Run] = {}
        self._rendezvous: dict[str, Rendezvous] = {}
        # The supervisors this backend started, kept for its lifetime: a collected Popen of
        # a running child warns, and `close` leaves them running.
        self._children: list[subprocess.Popen[bytes]] = []
        # A supervisor started ahead for the next replica (made after the first gang).
        self._spares = Spares(python)

    # addresses -------------------------------------------------------------------------

    async def rendezvous(self, gang_id: str, *, ports: int = 1) -> Rendezvous:
        found = self._rendezvous.get(gang_id)
        if found is not None and len(found.ports) >= ports:
            return found
        for ended in [g for g, run in self._runs.items() if run.ended.is_set()]:
            self._rendezvous.pop(ended, None)  # its processes are gone, and so its ports
        taken = {port for other in self._rendezvous.values() for port in other.ports}
        found = Rendezvous(self.host, await asyncio.to_thread(_free_ports, self.host, ports, taken))
        self._rendezvous[gang_id] = found
        return found

    # starting --------------------------------------------------------------------------

    def refusal(self, gang: Gang) -> str | None:
        return gang_refusal(gang, self.capacity.machine)

    async def start(self, gang: Gang, *, runner: Runner | None = None) -> GangHandle:
        refused = self.refusal(gang)
        if refused is not None:
            raise GangRefused(refused)
        current = self._runs.get(gang.id)
        if current is not None and not current.ended.is_set():
            raise WorkloadError(
                f"gang '{gang.id}' runs already (attempt {current.gang.attempt}): stop it first"
            )
        commands = []
        if runner is None:  # a runner resolves its commands itself
            for launch in gang.replicas:
                cwd = launch.cwd or self.root
                commands.append(command_of(gang.id, launch, environment(launch, ()), cwd))
        run = _Run(gang, self._folder(gang), [])
        run.replicas = [_pending(launch, run.folder) for launch in gang.replicas]
        self._runs[gang.id] = run
        grant = await self.capacity.admit(gang_demand(gang), run.stopping)
        if grant is None:
            run.spawned.set()
            await run.end()
            raise GangStopped(f"gang '{gang.id}' was stopped while it waited for resources")
        run.grant = grant
        if self._slots is not None:
            run.slot = await _acquire(self._slots, run.stopping)
            if not run.slot:
                await self._abort(run)
                run.spawned.set()
                raise GangStopped(f"gang '{gang.id}' was stopped while it waited for a slot")
        try:
            if runner is not None:
                await self._launch_all(run, runner, deal_gpus(gang, grant.gpus))
            else:
                await self._spawn_all(run, commands, deal_gpus(gang, grant.gpus))
        except BaseException:
            await self._abort(run)
            raise
        finally:
            run.spawned.set()
        return run.handle()

    def _folder(self, gang: Gang) -> GangFolder:
        if gang.records is not None:
            return GangFolder.given(gang.records, len(gang.replicas))
        return GangFolder(self.root / gang_folder_name(gang.id) / f"attempt-{gang.attempt}")

    async def _place_all(self, run: _Run, devices: list[tuple[str, ...]]) -> None:
        """Give each replica its GPUs, its cgroup and its folder; record the gang."""
        if run.gang.records is None:
            await asyncio.to_thread(shutil.rmtree, run.folder.path, True)  # a fresh attempt
        for replica, gpus in zip(run.replicas, devices, strict=True):
            replica.cgroup, unenforced, cpu = self._cgroup(replica.launch)
            folders = _cgroup_folders(replica.cgroup)
            replica.placed = Placed(replica.launch, gpus, folders)
            replica.state = replace(replica.state, limits_unenforced=unenforced, cpu_unenforced=cpu)
            replica.folder.path.mkdir(parents=True, exist_ok=True)
        run.folder.write(run.gang, [replica.placed for replica in run.replicas])

    async def _launch_all(self, run: _Run, runner: Runner, devices: list[tuple[str, ...]]) -> None:
        """Start every replica through ``runner``, each then moved into its cgroup."""
        await self._place_all(run, devices)
        started: list[tuple[_Replica, Launched]] = []
        try:
            for replica in run.replicas:
                launch, placed = replica.launch, replica.placed
                cwd = launch.cwd or replica.folder.path
                running = await runner.start(
                    runner_launch(launch, replica.folder, placed.devices, cwd)
                )
                unenforced = replica.state.limits_unenforced
                if replica.cgroup is not None:
                    try:
                        replica.cgroup.add(running.pid)
                    except OSError as error:
                        path = _cgroup_folders(replica.cgroup)[0]
                        unenforced = f"its process could not join cgroup {path} ({error})"
                replica.state = replace(
                    replica.state,
                    phase=Phase.RUNNING,
                    pid=running.pid,
                    host=socket.gethostname(),
                    devices=placed.devices,
                    started_at=time.time(),
                    limits_unenforced=unenforced,
                )
                started.append((replica, Launched(running)))
        except BaseException:
            for replica, launched in started:
                kill_group(launched.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await launched.wait()
                replica.state = replace(replica.state, phase=Phase.FAILED, reason="not started")
            raise
        for replica, launched in started:
            await run.emit("started", replica)
            run.tasks.append(asyncio.create_task(self._follow(run, replica, launched)))

    async def _spawn_all(
        self, run: _Run, commands: list[str], devices: list[tuple[str, ...]]
    ) -> None:
        await self._place_all(run, devices)
        started: list[tuple[_Replica, Supervised]] = []
        children: list[subprocess.Popen[bytes]] = []
        try:
            for replica, program in zip(run.replicas, commands, strict=True):
                launch, placed = replica.launch, replica.placed
                child = spawn(
                    program,
                    launch,
                    replica.folder,
                    environment(launch, placed.devices),
                    launch.cwd or replica.folder.path,
                    placed.cgroups,
                    self.python,
                    self._spares,
                )
                replica.state = replace(
                    replica.state,
                    phase=Phase.RUNNING,
                    pid=child.pid,
                    host=socket.gethostname(),
                    devices=placed.devices,
                    started_at=time.time(),
                )
                started.append((replica, Supervised(child.pid, replica.folder, child)))
                children.append(child)
                self._children.append(child)
            self._spares.refill()  # for the next replicas, starting while these claim
            for (replica, _), child in zip(started, children, strict=True):
                at = await claimed(replica.folder, child)
                if at is not None:
                    replica.state = replace(replica.state, started_at=at)
        except BaseException:
            for replica, supervised in started:
                kill_group(supervised.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await supervised.wait()
                replica.state = replace(replica.state, phase=Phase.FAILED, reason="not started")
            raise
        for replica, supervised in started:
            await run.emit("started", replica)
            run.tasks.append(asyncio.create_task(self._follow(run, replica, supervised)))

    def _cgroup(self, launch: ReplicaLaunch) -> tuple[AnyStepCgroup | None, str, str]:
        """The replica's cgroup, why its limits are not enforced, why its CPU limit is not."""
        found = limit(self.enforcer, launch.resources)
        if found.unenforced and not self._warned:
            self._warned = True
            log.warning(
                "the limits of replica %s are not enforced: %s", launch.name, found.unenforced
            )
        return found.cgroup, found.unenforced, found.cpu_unenforced

    async def _abort(self, run: _Run) -> None:
        """A start that failed part-way: nothing of it runs, its resources are free."""
        for replica in run.replicas:
            if replica.cgroup is not None:
                replica.cgroup.remove()
            if not replica.state.phase.final:
                replica.state = replace(replica.state, phase=Phase.FAILED, reason="not started")
        await self._free(run)
        await run.end()

    async def _free(self, run: _Run) -> None:
        """Give back the gang's resources and its slot."""
        if run.grant is not None:
            await self.capacity.release(run.grant)
            run.grant = None
        if run.slot and self._slots is not None:
            run.slot = False
            self._slots.release()

    # following -------------------------------------------------------------------------

    async def _follow(
        self, run: _Run, replica: _Replica, supervised: Supervised | Launched
    ) -> None:
        key = replica.launch.log_key
        uploading = None
        if self.store is not None and key:
            uploading = asyncio.create_task(
                logs.upload_while(self.store, replica.folder.log, key, self.log_upload_seconds)
            )
        reason = ""
        oom = False
        try:
            code: int | None = await supervised.wait()
        except Lost:
            # Killed with its supervisor: by `stop` (SIGKILL to the group), or unseen.
            code, reason = (-signal.SIGKILL, "") if run.stopping.is_set() else (None, LOST)
        except ForkServerDied as error:  # the runner's server stopped: the exit is unknown
            code, reason = None, str(error)
        finally:
            if uploading is not None:
                uploading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await uploading
        if self.store is not None and key:
            await logs.upload(self.store, replica.folder.log, key, sync=True)
        if replica.cgroup is not None:
            if code is not None and code != 0 and replica.cgroup.oom_killed(code):
                oom = True
                reason = "it used more memory than its limit and was killed: raise its limit"
            replica.cgroup.remove()
        elif replica.placed.cgroups:
            _remove_folders(replica.placed.cgroups)
        if run.stopping.is_set() and code != 0:
            reason = reason or "stopped"
        elif code not in (0, None) and not reason:
            reason = describe_exit(code)
        replica.state = replace(
            replica.state,
            phase=Phase.SUCCEEDED if code == 0 else Phase.FAILED,
            exit_code=code,
            finished_at=time.time(),
            reason=reason,
            oom_killed=oom,
        )
        await run.emit("exited", replica)
        if all(r.state.phase.final for r in run.replicas):
            await self._free(run)
            await run.end()

    def events(self, gang_id: str) -> AsyncIterator[GangEvent]:
        return self._events(self._run(gang_id))

    async def _events(self, run: _Run) -> AsyncIterator[GangEvent]:
        seen = 0
        while True:
            async with run.changed:
                while seen >= len(run.history) and not run.ended.is_set():
                    await run.changed.wait()
                batch, ended = run.history[seen:], run.ended.is_set()
                seen = len(run.history)
            for event in batch:
                yield event
            if ended:
                return

    def states(self, gang_id: str) -> tuple[ReplicaState, ...]:
        return self._run(gang_id).states()

    async def wait(self, gang_id: str) -> tuple[ReplicaState, ...]:
        run = self._run(gang_id)
        await run.ended.wait()
        return run.states()

    def logs(
        self, gang_id: str, role: str, index: int, *, follow: bool = False
    ) -> AsyncIterator[str]:
        run = self._runs.get(gang_id)
        if run is not None:
            replica = run.find(role, index)
            if replica is None:
                raise UnknownGang(_no_replica(run.gang, role, index))
            folder, key = replica.folder, replica.launch.log_key
            state = replica

            def ended() -> bool:
                return state.state.phase.final or run.ended.is_set()
        else:
            recorded = self._recorded_gang(gang_id)
            gang, found = recorded
            launch = gang.replica(role, index)
            if launch is None:
                raise UnknownGang(_no_replica(gang, role, index))
            folder, key = found.replica(role, index), launch.log_key

            def ended() -> bool:
                return folder.judge().state != "running"

        if not folder.log.exists() and self.store is not None and key:
            return logs.store_lines(self.store, key)
        return logs.follow_lines(folder.log, ended, follow=follow)

    # stopping --------------------------------------------------------------------------

    def stop(self, gang_id: str, *, grace: float = 10.0) -> Awaitable[tuple[ReplicaState, ...]]:
        run = self._run(gang_id)
        run.stopping.set()
        first = signal.SIGKILL if grace <= 0 else signal.SIGTERM
        signalled = run.spawned.is_set()
        if signalled:  # at once: the caller may be on its way out
            _signal(run, first)
        return self._stopped(run, grace, first, signalled)

    async def _stopped(
        self, run: _Run, grace: float, first: signal.Signals, signalled: bool
    ) -> tuple[ReplicaState, ...]:
        await run.spawned.wait()
        if not signalled:
            _signal(run, first)
        if first != signal.SIGKILL:
            try:
                await asyncio.wait_for(run.ended.wait(), grace)
            except TimeoutError:
                _signal(run, signal.SIGKILL)
        await run.ended.wait()
        return run.states()

    # after a restart -------------------------------------------------------------------

    def recorded(self) -> list[str]:
        found = []
        for folder in sorted(self.root.glob("*")):
            attempt = _latest_in(folder)
            read = attempt.read() if attempt is not None else None
            if read is not None:
                found.append(read[0].id)
        return found

    async def adopt(self, gang_id: str, *, records: Path | None = None) -> GangHandle | None:
        current = self._runs.get(gang_id)
        if current is not None:
            return current.handle()
        folder = latest_attempt(self.root, gang_id) if records is None else GangFolder(records)
        read = await asyncio.to_thread(folder.read) if folder is not None else None
        if folder is None or read is None or read[0].id != gang_id:
            return None
        gang, placed = read
        if records is not None:
            folder = GangFolder.given(records, len(placed))
            gang = replace(gang, records=records)
        run = _Run(gang, folder, [], adopted=True)
        followed: list[tuple[_Replica, Supervised]] = []
        for item in placed:
            replica_folder = folder.replica(item.launch.role, item.launch.index)
            found = await asyncio.to_thread(replica_folder.judge)
            state = ReplicaState(
                item.launch.role,
                item.launch.index,
                pid=found.pid or None,
                host=socket.gethostname(),
                devices=item.devices,
                started_at=found.started_at or None,
            )
            if found.state == "running":
                state = replace(state, phase=Phase.RUNNING)
            elif found.state == "exited":
                code = found.exit_code
                phase = Phase.SUCCEEDED if code == 0 else Phase.FAILED
                reason = "" if code == 0 or code is None else describe_exit(code)
                state = replace(state, phase=phase, exit_code=code, reason=reason)
            else:
                state = replace(state, phase=Phase.FAILED, reason=LOST)
            replica = _Replica(item, replica_folder, state)
            run.replicas.append(replica)
            if found.state == "running":
                followed.append(
                    (replica, Supervised.adopted(found.pid, found.start, replica_folder))
                )
        self._runs[gang_id] = run
        if followed:
            held = tuple(gpu for replica, _ in followed for gpu in replica.placed.devices)
            run.grant = await self.capacity.claim(gang_demand(gang), held)
        run.spawned.set()
        for replica in run.replicas:
            await run.emit("adopted", replica)
        for replica, supervised in followed:
            run.tasks.append(asyncio.create_task(self._follow(run, replica, supervised)))
        if not followed:
            await run.end()
        log.info(
            "adopted gang %s (attempt %d): %d replica(s) still run",
            gang_id,
            gang.attempt,
            len(followed),
        )
        return run.handle()

    async def remove(self, gang_id: str) -> None:
        run = self._runs.get(gang_id)
        if run is not None and not run.ended.is_set():
            raise WorkloadError(f"gang '{gang_id}' still runs: stop it before removing it")
        self._runs.pop(gang_id, None)
        self._rendezvous.pop(gang_id, None)
        if run is not None and run.gang.records is not None:
            return  # the caller's folder: the caller removes it
        await asyncio.to_thread(shutil.rmtree, self.root / gang_folder_name(gang_id), True)

    async def close(self) -> None:
        """Stop following (the trainer stops): the gangs run on, for the next to adopt."""
        tasks = [task for run in self._runs.values() for task in run.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runs.clear()
        await asyncio.to_thread(self._spares.close)

    # helpers ---------------------------------------------------------------------------

    def _run(self, gang_id: str) -> _Run:
        run = self._runs.get(gang_id)
        if run is None:
            raise UnknownGang(
                f"gang '{gang_id}' is neither running nor adopted on this backend: start it, "
                "or adopt it after a restart"
            )
        return run

    def _recorded_gang(self, gang_id: str) -> tuple[Gang, GangFolder]:
        folder = latest_attempt(self.root, gang_id)
        read = folder.read() if folder is not None else None
        if folder is None or read is None:
            raise UnknownGang(f"gang '{gang_id}' has no records on this machine: check its id")
        return read[0], folder


def _signal(run: _Run, sig: signal.Signals) -> None:
    for replica in run.replicas:
        if replica.state.pid and not replica.state.phase.final:
            kill_group(replica.state.pid, sig)


async def _acquire(slots: asyncio.Semaphore, stopping: asyncio.Event) -> bool:
    """Take a slot; False (holding none) when ``stopping`` is set first."""
    if stopping.is_set():
        return False
    acquire = asyncio.ensure_future(slots.acquire())
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({acquire, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not acquire.done():
            acquire.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await acquire
    got = acquire.done() and not acquire.cancelled()
    if got and stopping.is_set():
        slots.release()
        return False
    return got


def _pending(launch: ReplicaLaunch, folder: GangFolder) -> _Replica:
    return _Replica(
        Placed(launch, ()),
        folder.replica(launch.role, launch.index),
        ReplicaState(launch.role, launch.index),
    )


def _cgroup_folders(group: AnyStepCgroup | None) -> tuple[str, ...]:
    if group is None:
        return ()
    if isinstance(group, StepCgroup):
        return (str(group.path),)
    return tuple(str(folder) for folder in group.folders)


def _remove_folders(folders: tuple[str, ...]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _latest_in(folder: Path) -> GangFolder | None:
    numbers = [
        int(entry.name[8:])
        for entry in folder.glob("attempt-*")
        if entry.name[8:].isdigit() and (entry / "gang.json").is_file()
    ]
    return GangFolder(folder / f"attempt-{max(numbers)}") if numbers else None


def _no_replica(gang: Gang, role: str, index: int) -> str:
    names = ", ".join(replica.name for replica in gang.replicas)
    return f"gang '{gang.id}' has no replica {role}-{index} (it has: {names})"


PORT_TRIES = 256
"""Ports bound at most to find the free ones a gang asks for, none of them another gang's."""


def _free_ports(host: str, count: int, taken: set[int]) -> tuple[int, ...]:
    """``count`` distinct TCP ports free on ``host`` now (each bound, then let go), none in
    ``taken``; `WorkloadError` if ``PORT_TRIES`` binds do not find them."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            if len(held) >= PORT_TRIES + count:
                raise WorkloadError(
                    f"no {count} free TCP port(s) on {host} for a gang's rendezvous after "
                    f"{len(held)} tries ({len(taken)} held by other gangs): free ports or "
                    "run fewer gangs at once"
                )
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            if port not in taken:
                ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return tuple(ports)
