"""`StepEnvironments`: the step environments of one trainer replica.

A step whose component asks for packages runs in the environment of its package set: built
once (an asyncio lock per digest within this replica, a file lock across the replicas that
share the home; built in a temporary folder, renamed into place when complete), then reused
by later steps through its own warm fork server. A step holds the environment's shared use
lock while it runs, so ``prune`` (of any replica) never removes an environment in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import filelock

from headrace_contracts import EnvironmentsPruned, EnvironmentView, StepReady

from ..errors import ForkServerDied
from ..executor.control import StepControl
from ..executor.runner import Runner
from ..forkserver.client import ForkServerRunner
from .build import BuildOptions, EnvironmentFailed, build_environment
from .layout import EnvironmentRecord, EnvironmentsLayout
from .requirements import StepRequirements, environment_digest, requirements_of
from .runner import environment_runner

__all__ = ["Lease", "StepEnvironments"]

log = logging.getLogger("headrace.trainer.envs")


@dataclass
class _Warm:
    created_at: float
    runner: Runner
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class Lease:
    """A step's hold on its environment: closing ``release`` lets it go."""

    digest: str
    record: EnvironmentRecord
    runner: Runner
    built: bool
    release: contextlib.ExitStack


class StepEnvironments:
    """Builds, caches, reuses, lists and prunes the step environments under ``root``."""

    def __init__(
        self,
        root: Path,
        options: BuildOptions,
        *,
        install_timeout: float = 600.0,
        fork_server: bool = True,
        warm_limit: int = 4,
    ) -> None:
        self.layout = EnvironmentsLayout(root)
        self.options = options
        self.install_timeout = install_timeout
        self.fork_server = fork_server
        self.warm_limit = warm_limit
        self.builds = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self._warm: dict[str, _Warm] = {}

    def digest(self, requirements: StepRequirements) -> str:
        return environment_digest(
            requirements,
            python=sys.version,
            base=sys.prefix,
            find_links=self.options.find_links,
            index_url=self.options.index_url,
        )

    # using one -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def runner_for(
        self, step: StepReady, default: Runner, control: StepControl, log_path: Path
    ) -> AsyncIterator[Runner]:
        """The runner of ``step``: ``default`` when its component asks for no packages,
        else its environment's (built first if needed). Raises `EnvironmentFailed`. When the
        step is cancelled meanwhile, ``default`` (the step then ends as cancelled)."""
        requirements = requirements_of(step.executor.get("container", step.executor))
        if requirements is None:
            yield default
            return
        timeout = step.timeout_seconds or self.install_timeout
        begun = time.monotonic()
        preparing = asyncio.ensure_future(self.acquire(requirements, timeout))
        cancelled = asyncio.ensure_future(control.cancelled.wait())
        try:
            await asyncio.wait({preparing, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
            if not preparing.done():
                preparing.cancel()
                with contextlib.suppress(asyncio.CancelledError, EnvironmentFailed):
                    await preparing
        if preparing.cancelled() or (
            control.cancelled.is_set() and preparing.exception() is not None
        ):
            yield default
            return
        lease = preparing.result()
        with lease.release:
            _note(log_path, lease, time.monotonic() - begun)
            yield lease.runner

    async def acquire(self, requirements: StepRequirements, timeout: float) -> Lease:
        """The environment of ``requirements``, built if needed within ``timeout``, held in
        use until ``lease.release`` is closed."""
        digest = self.digest(requirements)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        lock = self._locks.setdefault(digest, asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), timeout)
        except TimeoutError:
            raise EnvironmentFailed(_waited(requirements, timeout)) from None
        try:
            release = contextlib.ExitStack()
            remaining = max(deadline - loop.time(), 0.01)
            try:
                async with _build_lock(self.layout.build_lock(digest), remaining):
                    record = self.layout.record(digest)
                    built = record is None
                    if record is None:
                        record = await self._build(digest, requirements, timeout, deadline)
                    release.enter_context(self.layout.in_use(digest))
            except filelock.Timeout:
                raise EnvironmentFailed(_waited(requirements, timeout)) from None
            try:
                runner = await self._warm_runner(digest, record)
            except BaseException:
                release.close()
                raise
            release.callback(self._released, digest)
            return Lease(digest, record, runner, built, release)
        finally:
            lock.release()

    async def _build(
        self, digest: str, requirements: StepRequirements, timeout: float, deadline: float
    ) -> EnvironmentRecord:
        await asyncio.to_thread(self.layout.clean_leftovers, digest)
        folder = self.layout.new_build_folder(digest)
        log.info("building step environment %s for %s", digest, list(requirements.packages))
        begun = time.monotonic()
        self.builds += 1
        try:
            await build_environment(folder, requirements, self.options, timeout, deadline=deadline)
            record = EnvironmentRecord(
                digest=digest,
                packages=sorted(set(requirements.packages)),
                index_urls=list(requirements.index_urls),
                find_links=sorted({*self.options.find_links, *requirements.find_links}),
                python=sys.version.split()[0],
                created_at=time.time(),
                build_seconds=round(time.monotonic() - begun, 3),
            )
            await asyncio.to_thread(self.layout.publish, folder, record)
        finally:
            await asyncio.to_thread(_remove_if_left, folder)
        return record

    async def _warm_runner(self, digest: str, record: EnvironmentRecord) -> Runner:
        warm = self._warm.get(digest)
        if warm is not None and warm.created_at != record.created_at and warm.users == 0:
            await _close(warm.runner)  # the environment was rebuilt by another replica
            del self._warm[digest]
            warm = None
        if warm is None:
            python = str(self.layout.python(digest))
            runner = environment_runner(python, fork_server=self.fork_server)
            if isinstance(runner, ForkServerRunner):
                try:
                    await runner.open()
                except ForkServerDied as error:
                    log.warning("%s; steps of environment %s run as subprocesses", error, digest)
            warm = self._warm[digest] = _Warm(record.created_at, runner)
        warm.users += 1
        warm.last_used = time.monotonic()
        await self._evict()
        return warm.runner

    def _released(self, digest: str) -> None:
        warm = self._warm.get(digest)
        if warm is not None:
            warm.users -= 1
            warm.last_used = time.monotonic()
        self.layout.touch(digest)

    async def _evict(self) -> None:
        idle = sorted(
            (warm.last_used, digest) for digest, warm in self._warm.items() if warm.users == 0
        )
        while len(self._warm) > self.warm_limit and idle:
            _, digest = idle.pop(0)
            await _close(self._warm.pop(digest).runner)

    async def close(self) -> None:
        """Stop every warm fork server (the trainer's on_stop)."""
        warm, self._warm = self._warm, {}
        for entry in warm.values():
            await _close(entry.runner)

    # listing and pruning ---------------------------------------------------------------

    def views(self) -> list[EnvironmentView]:
        """Every complete environment, oldest first (reads the disk: call it in a thread)."""
        views = [self._view(digest) for digest in self.layout.digests()]
        return sorted((view for view in views if view), key=lambda view: view.created_at)

    async def prune(self, digests: list[str], older_than: float) -> EnvironmentsPruned:
        """Remove the environments no step uses: those of ``digests`` (unique prefixes; all
        when empty), and only those unused for ``older_than`` seconds when it is positive."""
        known = await asyncio.to_thread(self.layout.digests)
        chosen, unknown = _match(known, digests)
        removed: list[EnvironmentView] = []
        in_use: list[str] = []
        now = time.time()
        for digest in chosen:
            if older_than > 0 and now - self.layout.last_used(digest) < older_than:
                continue
            view = await self._remove(digest)
            if view is None:
                in_use.append(digest)
            else:
                removed.append(view)
        return EnvironmentsPruned(removed=removed, in_use=in_use, unknown=unknown)

    async def _remove(self, digest: str) -> EnvironmentView | None:
        lock = self._locks.setdefault(digest, asyncio.Lock())
        if lock.locked():
            return None  # a step of this replica is preparing it
        async with lock:
            try:
                async with _build_lock(self.layout.build_lock(digest), 0):
                    if self.layout.is_in_use(digest):
                        return None
                    view = await asyncio.to_thread(self._view, digest)
                    warm = self._warm.pop(digest, None)
                    if warm is not None:
                        await _close(warm.runner)
                    await asyncio.to_thread(self.layout.remove, digest)
                    log.info("removed step environment %s", digest)
                    return view
            except filelock.Timeout:
                return None  # another replica builds or removes it now

    def _view(self, digest: str) -> EnvironmentView | None:
        record = self.layout.record(digest)
        if record is None:
            return None
        return EnvironmentView(
            digest=digest,
            packages=record.packages,
            index_urls=record.index_urls,
            find_links=record.find_links,
            python=record.python,
            size_bytes=self.layout.size(digest),
            build_seconds=record.build_seconds,
            created_at=_iso(record.created_at),
            last_used_at=_iso(self.layout.last_used(digest)),
            in_use=self.layout.is_in_use(digest),
            path=str(self.layout.path(digest)),
        )


def _match(known: list[str], asked: list[str]) -> tuple[list[str], list[str]]:
    if not asked:
        return known, []
    chosen: list[str] = []
    unknown: list[str] = []
    for prefix in asked:
        found = [digest for digest in known if digest.startswith(prefix)]
        if len(found) == 1:
            chosen.append(found[0])
        else:
            unknown.append(prefix)
    return list(dict.fromkeys(chosen)), unknown


def _note(log_path: Path, lease: Lease, seconds: float) -> None:
    """Say in the step's log which environment it runs in."""
    packages = ", ".join(lease.record.packages)
    how = (
        f"built in {lease.record.build_seconds:.2f} s"
        if lease.built
        else f"reused (ready in {seconds:.2f} s)"
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as file:
        file.write(f"headrace: step environment {lease.digest} ({packages}): {how}\n")


def _waited(requirements: StepRequirements, timeout: float) -> str:
    return (
        f"could not install packages {list(requirements.packages)} within {timeout:g} s: "
        "another step was still building the same environment: raise the step's timeout"
    )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment else ""


def _remove_if_left(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _build_lock(path: Path, timeout: float) -> filelock.AsyncFileLock:
    """The file lock of one digest, polled on the event loop (no waiting thread that a
    cancelled step would leave holding it); raises `filelock.Timeout` after ``timeout``."""
    return filelock.AsyncFileLock(path, timeout=timeout, run_in_executor=False)


async def _close(runner: Runner) -> None:
    if isinstance(runner, ForkServerRunner):
        await runner.close()
