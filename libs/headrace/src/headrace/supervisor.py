"""The supervisor of a single-machine platform: nats-server and every service replica as
child processes, restarted with backoff when they die, stopped in order on SIGTERM/SIGINT.

It holds ``platform.lock`` for its whole life and keeps ``platform.json`` current.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .backoff import Backoff, describe_exit
from .dashboard_access import admin_token_env
from .home import (
    Home,
    PlatformLock,
    PlatformState,
    Replica,
    ServiceRecord,
    remove_state,
    write_state,
)
from .natsserver import NatsServer, NatsServerError
from .procs import service_command, service_env, signal_pid, spawn

EXIT_ALREADY_RUNNING = 75
EXIT_START_FAILED = 70
STOP_GRACE = 10.0
TICK = 0.1

log = logging.getLogger("headrace.supervisor")


@dataclass(frozen=True)
class PlatformConfig:
    home: Home
    replicas: dict[str, int]
    nats_url: str | None = None  # an external NATS; None starts the embedded nats-server
    database_url: str | None = None
    artifacts: str | None = None


@dataclass
class Child:
    """One supervised process: a service replica, or the embedded nats-server."""

    name: str
    service: str = ""
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float | None = None
    backoff: Backoff = field(default_factory=Backoff)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.home = config.home
        self.lock = PlatformLock(config.home)
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.nats: NatsServer | None = None
        self.nats_child = Child(name="nats-server")
        self.children = [
            Child(name=f"{service}-{i}", service=service)
            for service, n in config.replicas.items()
            for i in range(n)
        ]
        self._stop = asyncio.Event()
        self._admin_env: dict[str, str] = {}

    @property
    def nats_url(self) -> str:
        if self.config.nats_url:
            return self.config.nats_url
        assert self.nats is not None
        return self.nats.url

    def state(self) -> PlatformState:
        services: dict[str, ServiceRecord] = {}
        for service, n in self.config.replicas.items():
            mine = [c for c in self.children if c.service == service]
            services[service] = ServiceRecord(
                replicas=n,
                instances=[Replica(c.name, c.pid, c.backoff.restarts) for c in mine],
            )
        return PlatformState(
            supervisor_pid=os.getpid(),
            nats_url=self.nats_url,
            embedded_nats=self.nats is not None,
            nats_pid=self.nats_child.pid,
            started_at=self.started_at,
            services=services,
        )

    # start -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start nats-server (when embedded), then every replica at once; no waiting."""
        self.home.create()
        self._admin_env = admin_token_env(self.home)  # the dashboard's login (see headrace up)
        if not self.config.nats_url:
            self.nats = NatsServer(store_dir=self.home.nats_dir, log_file=self.home.nats_log)
            self.nats.start(detach=True)
            self.nats_child.process = self.nats.process
            self.nats_child.started = time.monotonic()
            log.info("nats-server listening on %s (pid %s)", self.nats.url, self.nats_child.pid)
        for child in self.children:
            self._spawn(child)
        write_state(self.home, self.state())
        log.info(
            "started %d service processes: %s",
            len(self.children),
            ", ".join(f"{c.name} (pid {c.pid})" for c in self.children),
        )

    def _spawn(self, child: Child) -> None:
        env = service_env(
            home=self.home.root,
            nats_url=self.nats_url,
            instance=child.name,
            database_url=self.config.database_url,
            artifacts=self.config.artifacts,
        )
        if child.service == "metadata":
            env.update(self._admin_env)
        child.started = time.monotonic()
        child.restart_at = None
        try:
            child.process = spawn(
                service_command(child.service), env, self.home.service_log(child.name)
            )
        except OSError as exc:
            child.process = None
            self._schedule_restart(child, f"could not start ({exc})", 0.0)

    # supervision -----------------------------------------------------------------------

    def _schedule_restart(self, child: Child, why: str, ran_for: float) -> None:
        delay = child.backoff.next_delay(ran_for)
        child.restart_at = time.monotonic() + delay
        log.warning(
            "%s %s after %.1fs; restarting in %.1fs (restart %d)",
            child.name,
            why,
            ran_for,
            delay,
            child.backoff.restarts,
        )

    def _reap(self, child: Child) -> bool:
        """Notice that ``child`` died; returns whether it did."""
        if child.process is None:
            return False
        code = child.process.poll()
        if code is None:
            return False
        pid = child.process.pid
        child.process = None
        ran_for = time.monotonic() - child.started
        self._schedule_restart(child, f"(pid {pid}) {describe_exit(code)}", ran_for)
        return True

    async def tick(self) -> None:
        """Reap dead children and restart those whose backoff has passed."""
        changed = self._reap(self.nats_child) if self.nats else False
        now = time.monotonic()
        if (
            self.nats
            and self.nats_child.restart_at is not None
            and now >= self.nats_child.restart_at
        ):
            changed |= await self._restart_nats()
        for child in self.children:
            changed |= self._reap(child)
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                self._spawn(child)
                if child.process is not None:
                    log.warning("%s restarted (pid %s)", child.name, child.pid)
                changed = True
        if changed and not self._stop.is_set():
            write_state(self.home, self.state())

    async def _restart_nats(self) -> bool:
        assert self.nats is not None
        self.nats_child.restart_at = None
        self.nats_child.started = time.monotonic()
        try:
            await asyncio.to_thread(self.nats.start, detach=True)
        except NatsServerError as exc:
            self._schedule_restart(self.nats_child, f"could not start ({exc})", 0.0)
            return False
        self.nats_child.process = self.nats.process
        log.warning("nats-server restarted on %s (pid %s)", self.nats.url, self.nats_child.pid)
        return True

    async def run(
        self, on_started: Callable[[Supervisor], Coroutine[Any, Any, None]] | None = None
    ) -> int:
        """Supervise until SIGTERM/SIGINT/SIGHUP, then stop everything; returns the exit code."""
        if not self.lock.acquire():
            log.error("another supervisor already runs the platform in %s", self.home.root)
            return EXIT_ALREADY_RUNNING
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            try:
                self.start()
            except NatsServerError as exc:
                log.error("cannot start the platform: %s", exc)
                return EXIT_START_FAILED
            watcher = asyncio.create_task(on_started(self)) if on_started else None
            while not self._stop.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK)
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            return 0
        finally:
            await self.shutdown()
            self.lock.release()

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stop.is_set():
            log.info("received %s: already stopping", sig.name)
            return
        log.info("received %s: stopping the platform", sig.name)
        self._stop.set()

    # stop ------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """SIGTERM the services, wait up to 10 s, SIGKILL stragglers; nats-server last."""
        self._stop.set()
        running = [c for c in self.children if c.running()]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        for _ in range(round(STOP_GRACE / TICK)):
            if not any(c.running() for c in running):
                break
            await asyncio.sleep(TICK)
        for child in running:
            assert child.process is not None
            if child.running():
                log.warning(
                    "%s (pid %s) ignored SIGTERM for %.0fs: SIGKILL",
                    child.name,
                    child.pid,
                    STOP_GRACE,
                )
                signal_pid(child.process.pid, signal.SIGKILL, group=True)
            child.process.wait()
        if self.nats is not None:
            await asyncio.to_thread(self.nats.stop)
        remove_state(self.home)
        log.info("platform in %s stopped", self.home.root)


def configure_logging(home: Home, *, to_file: bool) -> None:
    """Restart and lifecycle lines to stderr, and to ``logs/supervisor.log`` when ``to_file``
    (a detached supervisor's stderr already is that file)."""
    home.create()
    formatter = logging.Formatter("%(asctime)s supervisor: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if to_file:
        handlers.append(logging.FileHandler(home.supervisor_log))
    for handler in handlers:
        handler.setFormatter(formatter)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
