"""Replicas behind the router: a replica that dies is routed around and replaced; a full one
(``container_concurrency``) queues requests; paths and methods pass through as they are."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from dataplane_support import V2, Recorder, plan, slow_model

from headrace_serving import LocalFleet, LoggerPlan, RevisionPlan, ServiceKey, Traffic

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.slow]


async def test_a_dead_replica_is_routed_around_and_replaced(
    fleet: LocalFleet, recorder: Recorder, client: httpx.AsyncClient, models: tuple[Path, Path]
) -> None:
    key = ServiceKey("default", "crash")
    revision = "crash-predictor-00001"
    url = await fleet.open_service(key)
    await fleet.start_revision(key, plan(revision, models[0], min_replicas=2, max_replicas=2))
    await fleet.set_traffic(key, Traffic(stable=revision))
    await recorder.wait_for(lambda: ("scaled", key, revision, 2) in recorder.events)
    for _ in range(10):  # connections to both replicas in the pools
        assert (await client.post(f"{url}/v2/models/iris/infer", json=V2)).status_code == 200

    # The test reaches into the fleet for a replica's process id: nothing public exposes it.
    victim = fleet._services[key].router.revisions[revision].serving[0]
    assert victim.pid is not None
    os.killpg(victim.pid, signal.SIGKILL)
    answers = [await client.post(f"{url}/v2/models/iris/infer", json=V2) for _ in range(20)]
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    # Replaced: two replicas serve again (the autoscaler keeps min_replicas).
    seen = len(recorder.of("scaled", revision))
    await recorder.wait_for(lambda: ("scaled", key, revision, 2) in recorder.events[seen:])
    [status] = fleet.status(key)
    assert (status.state, status.ready_replicas) == ("Ready", 2)


async def test_container_concurrency_queues_requests_for_a_full_replica(
    fleet: LocalFleet, recorder: Recorder, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = ServiceKey("default", "limited")
    revision = "limited-predictor-00001"
    url = await fleet.open_service(key, logger=LoggerPlan(mode="all"))
    model = slow_model(tmp_path / "slow", 0.1)
    await fleet.start_revision(key, plan(revision, model, container_concurrency=1))
    await fleet.set_traffic(key, Traffic(stable=revision))
    await recorder.ready(revision)
    answers = await asyncio.gather(
        *(client.post(f"{url}/v2/models/iris/infer", json=V2) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200] * 3
    logged = await recorder.wait_for(lambda: recorder.of("logged", revision)[5:] and
                                     recorder.of("logged", revision))  # fmt: skip
    # The logger sees each request as it goes to the replica: one at a time, each after
    # the answer to the one before.
    assert [e[3] for e in logged] == ["request", "response"] * 3
    assert [e[4] for e in logged[::2]] == [e[4] for e in logged[1::2]]


async def test_paths_and_methods_pass_through(
    fleet: LocalFleet, recorder: Recorder, client: httpx.AsyncClient, models: tuple[Path, Path]
) -> None:
    key = ServiceKey("default", "paths")
    revision = "paths-predictor-00001"
    url = await fleet.open_service(key)
    await fleet.start_revision(key, plan(revision, models[0]))
    await fleet.set_traffic(key, Traffic(stable=revision))
    await recorder.ready(revision)
    v1 = await client.post(
        f"{url}/v1/models/iris:predict", json={"instances": [V2["inputs"][0]["data"]]}
    )  # type: ignore[index]
    assert v1.status_code == 200
    assert v1.json() == {"predictions": [0]}
    assert (await client.get(f"{url}/v2/models/iris")).json()["name"] == "iris"
    head = await client.head(f"{url}/v2/health/ready")
    assert head.status_code == 200
    assert head.content == b""
    missing = await client.get(f"{url}/v2/models/other/ready")
    assert missing.status_code == 404  # the model server's own answer, passed on
    assert missing.headers["x-headrace-revision"] == revision


async def test_a_replica_that_exits_or_loads_too_long_fails_its_revision(
    recorder: Recorder, tmp_path: Path, models: tuple[Path, Path]
) -> None:
    exits, sleeps = "failing-predictor-00001", "failing-predictor-00002"
    sleepy = tmp_path / "sleepy"
    sleepy.mkdir()
    (sleepy / "model.py").write_text(
        "import time\n\nclass Model:\n    def load(self, folder):\n        time.sleep(30)\n\n"
        "    def predict(self, inputs):\n        return inputs\n"
    )
    # The model server refuses the format and exits: the reason is its log's last error. Its
    # fleet waits long for readiness, so the exit decides however slowly the process starts.
    await fail_one(recorder, tmp_path, 120.0, plan(exits, models[0], model_format="bogus"))
    assert "invalid choice: 'bogus'" in recorder.of("failed", exits)[0][3]
    await fail_one(recorder, tmp_path, 1.5, plan(sleeps, sleepy))
    reason = recorder.of("failed", sleeps)[0][3]
    assert "did not become ready in 1.5 s" in reason
    assert str(tmp_path / "logs" / "default" / "failing" / f"{sleeps}-1.log") in reason


async def fail_one(
    recorder: Recorder, tmp_path: Path, load_timeout: float, revision: RevisionPlan
) -> None:
    """Start ``revision`` on a fleet of its own and wait until it has failed."""
    fleet = LocalFleet(recorder, logs_dir=tmp_path / "logs", load_timeout=load_timeout)
    key = ServiceKey("default", "failing")
    try:
        await fleet.open_service(key)
        await fleet.start_revision(key, revision)
        await recorder.wait_for(lambda: recorder.of("failed", revision.name))
    finally:
        await fleet.aclose()


FLEET_SCRIPT = """
import asyncio, sys
from pathlib import Path
from headrace_serving import LocalFleet, RevisionPlan, ServiceKey


class Events:
    def __init__(self):
        self.ready = asyncio.Event()

    def revision_ready(self, *args):
        self.ready.set()

    revision_failed = scaled = logged = lambda self, *args: None


async def main():
    events = Events()
    fleet = LocalFleet(events, logs_dir=Path(sys.argv[2]))
    key = ServiceKey("default", "orphans")
    await fleet.open_service(key)
    await fleet.start_revision(key, RevisionPlan("orphans-1", "iris", sys.argv[1]))
    await events.ready.wait()
    print(fleet._services[key].router.revisions["orphans-1"].serving[0].pid, flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
async def test_replicas_stop_when_the_fleets_process_is_killed(
    tmp_path: Path, models: tuple[Path, Path]
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FLEET_SCRIPT, str(models[0]), str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    replica = int(line)
    pidfd = os.pidfd_open(replica)  # readable once the replica's process has ended
    try:
        process.kill()
        await process.wait()
        ended = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_reader(pidfd, ended.set_result, None)
        await asyncio.wait_for(ended, 20)
    finally:
        asyncio.get_running_loop().remove_reader(pidfd)
        os.close(pidfd)
        with contextlib.suppress(ProcessLookupError):  # left running: the test failed
            os.killpg(replica, signal.SIGKILL)
