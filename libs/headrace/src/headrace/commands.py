"""The bodies of ``headrace up``, ``down`` and ``status``: I/O around the pure parts."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .control import Found, clean_stale, find_platform, stop_platform
from .home import Home, PlatformState, read_state, resolve_home
from .report import explain_not_ready, render_table
from .scale import plan_replicas, scale_args
from .supervisor import EXIT_ALREADY_RUNNING, PlatformConfig, Supervisor, configure_logging

EXIT_UNHEALTHY = 1
EXIT_NO_PLATFORM = 3


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)


def _config(args: argparse.Namespace) -> PlatformConfig:
    return PlatformConfig(
        home=Home(resolve_home(args.home)),
        replicas=plan_replicas(args.scale),
        nats_url=args.nats_url,
        database_url=args.database_url,
        artifacts=args.artifacts,
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "  (no log)"
    return "\n".join(f"  | {line}" for line in text)


# up ------------------------------------------------------------------------------------


def up(args: argparse.Namespace) -> int:
    config = _config(args)
    home = config.home
    if args.foreground_supervisor:
        configure_logging(home, to_file=False)  # stderr is logs/supervisor.log already
        return asyncio.run(Supervisor(config).run())
    found = find_platform(home)
    if found.running:
        return _report_running(home, found, args.timeout)
    if found.stale and found.state is not None:
        report = clean_stale(home, found.state)
        _err(
            f"cleaned up a platform whose supervisor (pid {found.state.supervisor_pid}) is gone"
            + (f"; stopped {', '.join(report.stopped)}" if report.stopped else "")
        )
    if args.detach:
        return _up_detached(config, args.timeout)
    return _up_foreground(config, args.timeout)


def _report_running(home: Home, found: Found, timeout: float) -> int:
    from .status import probe

    state = found.state
    deadline = time.monotonic() + timeout
    while state is None and time.monotonic() < deadline:  # its supervisor is still starting
        time.sleep(0.1)
        state = read_state(home)
    if state is None:
        _err(f"a platform is starting in {home.root} but wrote no platform.json yet; retry")
        return EXIT_UNHEALTHY
    status = asyncio.run(probe(state, state.nats_url))
    print(f"Headrace already runs in {home.root} (supervisor pid {state.supervisor_pid}).")
    print(render_table(status))
    return 0


def _supervisor_command(config: PlatformConfig) -> list[str]:
    command = [sys.executable, "-m", "headrace.cli", "up", "--foreground-supervisor"]
    command += ["--home", str(config.home.root)]
    if config.nats_url:
        command += ["--nats-url", config.nats_url]
    if config.database_url:
        command += ["--database-url", config.database_url]
    if config.artifacts:
        command += ["--artifacts", config.artifacts]
    for item in scale_args(config.replicas):
        command += ["--scale", item]
    return command


def _up_detached(config: PlatformConfig, timeout: float) -> int:
    home = config.home
    home.create()
    started = time.monotonic()
    with open(home.supervisor_log, "ab") as log:
        supervisor = subprocess.Popen(
            _supervisor_command(config),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    from .status import PlatformNotReady, wait_until_healthy  # the bus loads while it starts

    def mine() -> PlatformState | None:
        state = read_state(home)
        return state if state and state.supervisor_pid == supervisor.pid else None

    def gone() -> str | None:
        code = supervisor.poll()
        return None if code is None else f"the supervisor (pid {supervisor.pid}) exited ({code})"

    try:
        status = asyncio.run(wait_until_healthy(mine, timeout=timeout, give_up=gone))
    except PlatformNotReady as exc:
        if supervisor.returncode == EXIT_ALREADY_RUNNING:  # lost a race with another `up`
            return _report_running(home, find_platform(home), timeout)
        _err(f"the platform did not start: {exc}; {home.supervisor_log}:")
        print(_tail(home.supervisor_log), file=sys.stderr)
        return EXIT_UNHEALTHY
    if status is None or not status.healthy:
        _err(f"the platform did not become healthy within {timeout:.0f}s in {home.root}:")
        if status is None:
            print(_tail(home.supervisor_log), file=sys.stderr)
        else:
            print(explain_not_ready(status, home), file=sys.stderr)
        _err(
            f"it keeps starting under supervisor pid {supervisor.pid}; see `headrace status`, "
            "stop it with `headrace down`"
        )
        return EXIT_UNHEALTHY
    print(render_table(status))
    print(
        f"\nHeadrace is up in {time.monotonic() - started:.1f}s (home {home.root}); "
        "stop it with `headrace down`."
    )
    return 0


def _up_foreground(config: PlatformConfig, timeout: float) -> int:
    from .status import wait_until_healthy

    configure_logging(config.home, to_file=True)
    started = time.monotonic()

    async def announce(supervisor: Supervisor) -> None:
        try:
            status = await wait_until_healthy(supervisor.state, timeout=timeout)
        except Exception as exc:  # the report only; supervision goes on regardless
            _err(f"could not check the platform's health: {exc}")
            return
        if status is not None and status.healthy:
            print(render_table(status))
            print(
                f"\nHeadrace is up in {time.monotonic() - started:.1f}s; Ctrl-C stops it.",
                flush=True,
            )
        elif status is not None:
            _err(f"not every service is healthy after {timeout:.0f}s (still supervising):")
            print(explain_not_ready(status, config.home), file=sys.stderr, flush=True)

    code = asyncio.run(Supervisor(config).run(announce))
    if code == EXIT_ALREADY_RUNNING:
        return _report_running(config.home, find_platform(config.home), timeout)
    return code


# down ----------------------------------------------------------------------------------


def down(args: argparse.Namespace) -> int:
    home = Home(resolve_home(args.home))
    found = find_platform(home)
    if found.state is None:
        if found.running:
            _err(f"a platform is starting in {home.root}; run `headrace down` again in a moment")
            return EXIT_UNHEALTHY
        print(f"No platform is running in {home.root}.")
        return 0
    if found.stale:
        report = clean_stale(home, found.state)
        print(f"The supervisor (pid {found.state.supervisor_pid}) was already gone.")
    else:
        report = stop_platform(home, found.state, timeout=args.timeout)
    how = "killed" if report.forced else "stopped"
    if report.stopped:
        print(f"Headrace in {home.root} {how}: {', '.join(report.stopped)}.")
    if report.left_behind:
        _err(f"still running after SIGKILL: {', '.join(report.left_behind)}")
        return EXIT_UNHEALTHY
    return 0


# status --------------------------------------------------------------------------------


def platform_nats_url(args: argparse.Namespace) -> tuple[PlatformState | None, str] | None:
    """The running platform's state (if this home has one) and the NATS URL to ask, from
    ``--nats-url``, the home's platform or ``$HEADRACE_NATS_URL``; None (having said why on
    stderr) when there is none."""
    home = Home(resolve_home(args.home))
    found = find_platform(home)
    state = found.state if found.running else None
    if state is not None and args.nats_url and args.nats_url != state.nats_url:
        state = None
    url = args.nats_url or (state.nats_url if state else os.environ.get("HEADRACE_NATS_URL"))
    if url:
        return state, url
    if found.stale and found.state is not None:
        _err(
            f"the platform in {home.root} is not running: its supervisor "
            f"(pid {found.state.supervisor_pid}) is gone; `headrace up` cleans up and "
            "starts a new one (`headrace down` only cleans up)"
        )
    else:
        _err(
            f"no platform is running in {home.root}: start one with `headrace up` "
            "(or point --home / HEADRACE_HOME / HEADRACE_NATS_URL at a running one)"
        )
    return None


def status(args: argparse.Namespace) -> int:
    from .status import probe

    found = platform_nats_url(args)
    if found is None:
        return EXIT_NO_PLATFORM
    state, url = found
    result = asyncio.run(probe(state, url))
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(render_table(result))
    return 0 if result.healthy else EXIT_UNHEALTHY
