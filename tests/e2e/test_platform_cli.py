"""The whole platform on one machine through the real ``headrace`` CLI, as a user runs it:
``up --detach``, ``status``, ``down``, a service killed with SIGKILL, scaled replicas."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from headrace import dashboard_login_url
from headrace_bus import Bus, BusConfig, BusError
from headrace_contracts import ArtifactList, ArtifactRef, ArtifactWritten, ListArtifacts

pytestmark = pytest.mark.slow

HEADRACE = Path(sys.executable).parent / "headrace"
SERVICES = ("scheduler", "trainer", "tuner", "serving", "metadata")
ISOLATE = (
    "HEADRACE_NATS_URL",
    "NATS_URL",
    "HEADRACE_DATABASE_URL",
    "HEADRACE_ARTIFACTS",
    "HEADRACE_INSTANCE_ID",
)


def alive(pid: int) -> bool:
    """Without psutil: a pid lives unless it is gone or a zombie (exited, not reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


class Platform:
    """The CLI against one home folder, with an environment of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if k not in ISOLATE}
        self.env["HEADRACE_HOME"] = str(home)
        self.seen_pids: set[int] = set()
        self.up_output = ""

    def run(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(HEADRACE), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.remember()
        return result

    def state(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.home / "platform.json").read_text())
        except (OSError, ValueError):
            return None
        return data

    def remember(self) -> set[int]:
        """Every pid platform.json records now (kept for the leak check at teardown)."""
        state = self.state()
        if state is None:
            return set()
        pids = {state["supervisor_pid"]}
        if state["nats_pid"]:
            pids.add(state["nats_pid"])
        for service in state["services"].values():
            pids.update(r["pid"] for r in service["instances"] if r["pid"])
        self.seen_pids |= pids
        return pids

    def status(self) -> tuple[int, dict[str, Any]]:
        result = self.run("status", "--json", timeout=30)
        assert result.stdout, result.stderr
        return result.returncode, json.loads(result.stdout)

    def up(self, *args: str) -> float:
        started = time.monotonic()
        result = self.run("up", "--detach", *args)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        self.up_output = result.stdout
        print(f"\n`headrace up --detach {' '.join(args)}` healthy in {elapsed:.1f}s")
        return elapsed

    def teardown(self) -> None:
        """``down`` no matter what; anything still alive after it is killed and reported."""
        self.remember()
        result = self.run("down", timeout=60)
        leaked = sorted(pid for pid in self.seen_pids if alive(pid))
        for pid in leaked:
            os.kill(pid, signal.SIGKILL)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        assert not leaked, f"processes left behind by `headrace down`: {leaked}"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(tmp_path / "home")
    try:
        yield platform
    finally:
        platform.teardown()


def healthy_services(status: dict[str, Any]) -> dict[str, tuple[str, int, int]]:
    return {name: (s["state"], s["replicas"], s["ready"]) for name, s in status["services"].items()}


async def connect(url: str) -> Bus:
    bus = Bus(BusConfig(url=url, client_name="e2e-test"), source="headrace/e2e")
    await bus.connect()
    return bus


async def publish_artifacts(bus: Bus, prefix: str, n: int) -> list[str]:
    return [
        await bus.publish(
            ArtifactWritten(artifact=ArtifactRef(uri=f"file:///e2e/{prefix}/{i}"), run_id="e2e")
        )
        for i in range(n)
    ]


async def wait_recorded(bus: Bus, expected: set[str], *, timeout: float) -> ArtifactList:
    """Poll ``ListArtifacts`` until exactly ``expected`` event ids are recorded."""
    deadline = time.monotonic() + timeout
    listing = ArtifactList()
    while time.monotonic() < deadline:
        try:
            reply = await bus.request(ListArtifacts(limit=1000), timeout=2)
        except BusError:  # metadata restarting: no responders / timeout
            await asyncio.sleep(0.2)
            continue
        assert isinstance(reply, ArtifactList)
        listing = reply
        # The total and the rows are read one after the other: wait for both.
        if listing.total >= len(expected) and len(listing.artifacts) >= len(expected):
            break
        await asyncio.sleep(0.2)
    ids = [record.event_id for record in listing.artifacts]
    assert listing.total == len(expected), f"{listing.total} recorded, want {len(expected)}"
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    return listing


def test_up_status_second_up_and_down(platform: Platform) -> None:
    assert platform.state() is None
    platform.up()
    code, status = platform.status()
    assert code == 0, status
    assert status["embedded_nats"] is True
    assert status["nats_url"].startswith("nats://127.0.0.1:")
    assert healthy_services(status) == {name: ("healthy", 1, 1) for name in SERVICES}
    state = platform.state()
    assert state is not None
    assert status["supervisor_pid"] == state["supervisor_pid"]
    pids = platform.remember()
    assert len(pids) == 7  # five services, nats-server, supervisor
    # The web dashboard: `up` prints its URL, `headrace dashboard --print` finds it.
    dashboard = status["dashboard_url"]
    assert dashboard.startswith("http://"), status
    assert f"dashboard   {dashboard}" in platform.up_output.splitlines()
    printed = platform.run("dashboard", "--print")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == f"{dashboard}\n"
    assert '<div id="app">' in httpx.get(dashboard, timeout=10).text
    # Without --print it opens the browser ($BROWSER here) logged in as the local admin.
    opened = platform.home / "opened-url"
    write = f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])"
    platform.env["BROWSER"] = f'{sys.executable} -c "{write}" %s'
    shown = platform.run("dashboard")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"opened {dashboard} (logged in as the local admin)\n"
    assert opened.read_text() == dashboard_login_url(platform.home)
    assert all(alive(pid) for pid in pids)

    again = platform.run("up", "--detach")
    assert again.returncode == 0, again.stderr
    assert "already runs" in again.stdout
    assert f"supervisor pid {state['supervisor_pid']}" in again.stdout
    assert platform.state() == state  # same supervisor, same processes
    code, status = platform.status()
    assert code == 0
    assert healthy_services(status) == {name: ("healthy", 1, 1) for name in SERVICES}

    down = platform.run("down", timeout=60)
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    assert not (platform.home / "platform.json").exists()
    assert [pid for pid in pids if alive(pid)] == []
    assert platform.run("down").stdout.startswith("No platform is running")


async def test_killed_service_restarts_and_resumes_its_durable_consumer(
    platform: Platform,
) -> None:
    # A message the server hands to the killed process's pending pull request in the
    # instant before it notices the dead connection is redelivered after ack_wait (30 s by
    # default). Nothing is lost either way; a shorter ack_wait keeps the test quick.
    platform.env["HEADRACE_ACK_WAIT"] = "5"
    await asyncio.to_thread(platform.up)
    _, status = await asyncio.to_thread(platform.status)
    [old] = status["services"]["metadata"]["instances"]
    bus = await connect(status["nats_url"])
    try:
        before = await publish_artifacts(bus, "before", 20)
        await wait_recorded(bus, set(before), timeout=20)

        os.kill(old["pid"], signal.SIGKILL)
        during = await publish_artifacts(bus, "during", 20)

        deadline = time.monotonic() + 20
        new: dict[str, Any] = {}
        while time.monotonic() < deadline:
            _, status = await asyncio.to_thread(platform.status)
            metadata = status["services"]["metadata"]
            new = metadata["instances"][0]
            if new["pid"] != old["pid"] and metadata["state"] == "healthy":
                break
            await asyncio.sleep(0.2)
        assert new["pid"] != old["pid"], status
        assert new["healthy"], status
        assert new["instance"] == "metadata-0"
        log = (platform.home / "logs" / "supervisor.log").read_text()
        assert f"metadata-0 (pid {old['pid']}) killed by signal SIGKILL" in log
        assert "restarting in 0.5s" in log

        await wait_recorded(bus, set(before) | set(during), timeout=45)
    finally:
        await bus.close()


async def test_scaled_replicas_share_the_work_exactly_once(platform: Platform) -> None:
    await asyncio.to_thread(platform.up, "--scale", "metadata=2")
    code, status = await asyncio.to_thread(platform.status)
    assert code == 0, status
    metadata = status["services"]["metadata"]
    assert (metadata["state"], metadata["replicas"], metadata["ready"]) == ("healthy", 2, 2)
    assert [i["instance"] for i in metadata["instances"]] == ["metadata-0", "metadata-1"]
    assert len({i["pid"] for i in metadata["instances"]}) == 2
    bus = await connect(status["nats_url"])
    try:
        published = await publish_artifacts(bus, "scaled", 100)
        await wait_recorded(bus, set(published), timeout=45)
    finally:
        await bus.close()


def test_status_without_a_platform_exits_3_with_a_hint(tmp_path: Path) -> None:
    result = Platform(tmp_path / "empty").run("status")
    assert result.returncode == 3
    assert "headrace up" in result.stderr


def test_up_lets_the_local_user_into_the_dashboard(platform: Platform) -> None:
    platform.up()
    secret_file = platform.home / "api-token"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    url = dashboard_login_url(platform.home)
    base, _, query = url.partition("/login?")
    assert base.startswith("http://127.0.0.1:")
    assert query == f"token={secret_file.read_text().strip()}"
    with httpx.Client(timeout=10) as browser:
        assert browser.get(f"{base}/api/v1/runs").status_code == 401
        login = browser.get(url)
        assert (login.status_code, login.headers["location"]) == (303, "/")
        tokens = browser.get(f"{base}/api/v1/tokens")  # with the cookie: the local admin
        assert tokens.status_code == 200, tokens.text
    [local] = [t for t in tokens.json()["tokens"] if t["name"].startswith("local-admin-")]
    assert (local["role"], local["created_by"]) == ("admin", "headrace up")

    assert platform.run("down", timeout=60).returncode == 0
    platform.up()  # the same token again, not a second one
    after = dashboard_login_url(platform.home)
    assert after.endswith(f"/login?{query}")
    again = httpx.get(
        f"{after.partition('/login?')[0]}/api/v1/tokens",
        headers={"Authorization": f"Bearer {secret_file.read_text().strip()}"},
        timeout=10,
    )
    assert [t["id"] for t in again.json()["tokens"] if t["name"] == local["name"]] == [local["id"]]
