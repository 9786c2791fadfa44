"""Controlling a platform from outside its supervisor: find it, stop it, clean up after one
that died."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field

from .home import Home, PlatformState, lock_held, read_state, remove_state
from .procs import is_platform_process, pid_alive, signal_pid, terminate_all, wait_gone


@dataclass(frozen=True)
class Found:
    """What a home holds: a running platform, a dead one's leftovers, or nothing."""

    state: PlatformState | None
    running: bool

    @property
    def stale(self) -> bool:
        return self.state is not None and not self.running


def find_platform(home: Home) -> Found:
    """Running means: the supervisor holds the lock (its pid alive, as a fallback check)."""
    state = read_state(home)
    held = lock_held(home)
    if state is None:
        return Found(None, held)
    return Found(state, held or pid_alive(state.supervisor_pid))


def _labels(state: PlatformState) -> dict[int, str]:
    labels = {
        r.pid: f"{r.instance} (pid {r.pid})"
        for s in state.services.values()
        for r in s.instances
        if r.pid
    }
    if state.nats_pid:
        labels[state.nats_pid] = f"nats-server (pid {state.nats_pid})"
    labels[state.supervisor_pid] = f"supervisor (pid {state.supervisor_pid})"
    return labels


@dataclass
class StopReport:
    stopped: list[str] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    forced: bool = False


def clean_stale(home: Home, state: PlatformState) -> StopReport:
    """A supervisor that died (kill -9, reboot): stop whatever it left, remove its state."""
    labels = _labels(state)
    alive = [pid for pid in state.pids() if pid_alive(pid) and is_platform_process(pid)]
    left = terminate_all(alive, grace=10.0)
    remove_state(home)
    return StopReport(
        stopped=[labels[pid] for pid in alive if pid not in left],
        left_behind=[labels[pid] for pid in left],
    )


def stop_platform(home: Home, state: PlatformState, *, timeout: float = 30.0) -> StopReport:
    """SIGTERM the supervisor and wait (it stops services, then nats-server); after
    ``timeout`` SIGKILL it and every recorded process. Verifies every recorded pid is gone."""
    report = StopReport()
    labels = _labels(state)
    supervisor = state.supervisor_pid
    if pid_alive(supervisor) and is_platform_process(supervisor):
        signal_pid(supervisor, signal.SIGTERM)
        if wait_gone([supervisor], timeout):
            report.forced = True
            signal_pid(supervisor, signal.SIGKILL, group=True)
            wait_gone([supervisor], 5.0)
    # A restart may have happened meanwhile: take the pids the supervisor wrote last.
    latest = read_state(home)
    if latest is not None:
        labels.update(_labels(latest))
    pids = list(labels)
    leftovers = [pid for pid in pids if pid_alive(pid) and is_platform_process(pid)]
    if leftovers:
        report.forced = True
        for pid in leftovers:
            signal_pid(pid, signal.SIGKILL, group=True)
        wait_gone(leftovers, 5.0)
    deadline = time.monotonic() + 1.0
    while home.state_file.exists() and lock_held(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not lock_held(home):
        remove_state(home)
    report.left_behind = [labels[pid] for pid in pids if pid_alive(pid)]
    report.stopped = [labels[pid] for pid in pids if not pid_alive(pid)]
    return report
