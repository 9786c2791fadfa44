"""Training jobs end to end: `headrace apply` and the client against a real trainer process
on a real nats-server, replicas as real processes (small Python scripts)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from job_support import (
    TrainerProcess,
    gone,
    pytorch_job,
    running,
    script,
    until,
    wait_job,
    write_manifest,
)

from headrace import Client
from headrace_testing import TestNats, nats_for_test

ENV_DUMP = """
import json, os, pathlib, sys
names = ["MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "PET_NNODES",
         "PET_NODE_RANK", "PET_NPROC_PER_NODE", "HEADRACE_REPLICA", "GREETING"]
out = pathlib.Path(os.environ["HEADRACE_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
seen = {n: os.environ.get(n) for n in names}
(out / f"env-{os.environ['RANK']}.json").write_text(json.dumps(seen))
pathlib.Path(sys.argv[1], f"cwd-{os.environ['RANK']}").write_text(os.getcwd())
print("epoch=1 loss=0.5")
print("headrace.metric epoch=2 loss=0.25 accuracy=0.75")
# The job succeeds when its Master does: the Master waits for the Worker to be done.
import time
while os.environ["RANK"] == "0" and not (out / "env-1.json").exists():
    time.sleep(0.02)
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestNats, TrainerProcess]]:
    folder = tmp_path_factory.mktemp("jobs")
    with nats_for_test(folder) as nats:
        trainer = TrainerProcess(folder / "home", nats.url)
        trainer.start()
        try:
            yield nats, trainer
        finally:
            trainer.stop()


@pytest.fixture
def client(platform: tuple[TestNats, TrainerProcess]) -> Iterator[Client]:
    nats, trainer = platform
    with Client(nats_url=nats.url, timeout=10) as found:
        trainer.ready(found)
        yield found


def test_a_two_replica_job_succeeds_with_each_replica_s_environment(
    client: Client, tmp_path: Path
) -> None:
    dump = script(tmp_path, "dump.py", ENV_DUMP)
    manifest = write_manifest(
        tmp_path,
        "envjob",
        pytorch_job("envjob", ["python", dump.name, str(tmp_path)], env={"GREETING": "hi"}),
    )
    (applied,) = client.apply(manifest)
    assert applied.created
    job = client.wait_job("envjob", timeout=60)
    assert job.state == "SUCCEEDED", job
    assert [c.type for c in job.conditions if c.status == "True"] == ["Created", "Succeeded"]
    assert [(r.role, r.index, r.state, r.exit_code) for r in job.replicas] == [
        ("master", 0, "Succeeded", 0),
        ("worker", 0, "Succeeded", 0),
    ]
    assert job.replica_statuses["Master"].succeeded == 1
    assert job.metrics == {"epoch": 2.0, "loss": 0.25, "accuracy": 0.75}
    assert job.output_uri.startswith("file://")
    output = Path(job.output_uri.removeprefix("file://"))
    ranks = [json.loads((output / f"env-{rank}.json").read_text()) for rank in (0, 1)]
    assert ranks[0]["MASTER_ADDR"] == ranks[1]["MASTER_ADDR"] == "127.0.0.1"
    assert ranks[0]["MASTER_PORT"] == ranks[1]["MASTER_PORT"]
    assert [
        (r["RANK"], r["WORLD_SIZE"], r["PET_NODE_RANK"], r["HEADRACE_REPLICA"]) for r in ranks
    ] == [
        ("0", "2", "0", "master-0"),
        ("1", "2", "1", "worker-0"),
    ]
    assert ranks[0]["GREETING"] == "hi"
    assert (tmp_path / "cwd-0").read_text() == str(tmp_path)  # the manifest's folder
    log = "".join(client.job_logs("envjob"))
    assert "epoch=1 loss=0.5" in log
    # the same file again: nothing changes
    (again,) = client.apply(manifest)
    assert not again.created


SLEEPER = """
import os, pathlib, sys, time
folder = pathlib.Path(sys.argv[1])
with open(folder / f"starts-{os.environ['HEADRACE_REPLICA']}", "a") as starts:
    starts.write(f"{os.getpid()}\\n")
print("up", flush=True)
time.sleep(120)
"""


def pids(folder: Path) -> list[int]:
    return [int(line) for path in folder.glob("starts-*") for line in path.read_text().split()]


def starts(folder: Path, replica: str) -> int:
    path = folder / f"starts-{replica}"
    return len(path.read_text().split()) if path.exists() else 0


def test_a_crashing_replica_restarts_the_whole_gang_then_fails_with_its_code_and_log(
    client: Client, tmp_path: Path
) -> None:
    crash = script(
        tmp_path,
        "crash.py",
        """
        import os, pathlib, sys, time
        folder = pathlib.Path(sys.argv[1])
        with open(folder / f"starts-{os.environ['HEADRACE_REPLICA']}", "a") as starts:
            starts.write(f"{os.getpid()}\\n")
        if os.environ["RANK"] == "1":
            # crash once the Master of this attempt runs too
            mine = len((folder / "starts-worker-0").read_text().split())
            master = folder / "starts-master-0"
            while not master.exists() or len(master.read_text().split()) < mine:
                time.sleep(0.02)
            print("step 1 of 10", flush=True)
            print("worker lost its data shard", flush=True)
            sys.exit(3)
        time.sleep(120)
        """,
    )
    manifest = write_manifest(
        tmp_path,
        "crashy",
        pytorch_job(
            "crashy",
            ["python", crash.name, str(tmp_path)],
            restart="OnFailure",
            run_policy={"backoffLimit": 1},
        ),
    )
    client.apply(manifest)
    job = client.wait_job("crashy", timeout=60)
    assert job.state == "FAILED"
    assert job.reason == "BackoffLimitExceeded"
    assert job.exit_code == 3
    assert "worker lost its data shard" in job.log_tail
    assert starts(tmp_path, "master-0") == starts(tmp_path, "worker-0") == 2  # whole gang, twice
    assert job.attempt == 1
    failed = next(c for c in job.conditions if c.type == "Failed")
    assert "backoff limit (1)" in failed.message
    assert "worker-0 exited with code 3" in failed.message
    assert not any(running(pid) for pid in pids(tmp_path))


def test_active_deadline_exceeded_stops_every_replica_and_fails_the_job(
    client: Client, tmp_path: Path
) -> None:
    sleeper = script(tmp_path, "sleeper.py", SLEEPER)
    manifest = write_manifest(
        tmp_path,
        "slow",
        pytorch_job(
            "slow",
            ["python", sleeper.name, str(tmp_path)],
            run_policy={"activeDeadlineSeconds": 2},
        ),
    )
    client.apply(manifest)
    job = client.wait_job("slow", timeout=60)
    assert (job.state, job.reason) == ("FAILED", "DeadlineExceeded")
    failed = next(c for c in job.conditions if c.type == "Failed")
    assert "active longer than specified deadline" in failed.message
    assert len(pids(tmp_path)) == 2
    assert not any(running(pid) for pid in pids(tmp_path))


def test_delete_of_a_running_job_leaves_nothing_running(client: Client, tmp_path: Path) -> None:
    sleeper = script(tmp_path, "sleeper.py", SLEEPER)
    manifest = write_manifest(
        tmp_path,
        "doomed",
        pytorch_job("doomed", ["python", sleeper.name, str(tmp_path)], workers=2),
    )
    client.apply(manifest)
    wait_job(client, "doomed", lambda j: j.state == "RUNNING", what="ran")
    until(lambda: len(pids(tmp_path)) == 3, 30, "three replicas")
    assert all(running(pid) for pid in pids(tmp_path))
    client.delete_job("doomed")
    until(lambda: gone(client, "doomed"), 30, "deleted")
    assert not any(running(pid) for pid in pids(tmp_path))
    with pytest.raises(LookupError, match="no training job 'doomed'"):
        client.get_job("doomed")


def test_suspend_stops_the_replicas_and_resume_starts_the_gang_again(
    client: Client, tmp_path: Path
) -> None:
    sleeper = script(tmp_path, "sleeper.py", SLEEPER)
    manifest = write_manifest(
        tmp_path, "pausing", pytorch_job("pausing", ["python", sleeper.name, str(tmp_path)])
    )
    client.apply(manifest)
    wait_job(client, "pausing", lambda j: j.state == "RUNNING", what="ran")
    until(lambda: len(pids(tmp_path)) == 2, 30, "two replicas")
    first = pids(tmp_path)
    client.suspend_job("pausing")
    job = wait_job(client, "pausing", lambda j: j.state == "SUSPENDED", what="suspended")
    assert any(c.type == "Suspended" and c.status == "True" for c in job.conditions)
    assert not any(running(pid) for pid in first)
    client.resume_job("pausing")
    wait_job(client, "pausing", lambda j: j.state == "RUNNING", what="ran again")
    until(lambda: len(pids(tmp_path)) == 4, 30, "the gang started again")
    assert starts(tmp_path, "master-0") == starts(tmp_path, "worker-0") == 2
    client.delete_job("pausing")
    until(lambda: gone(client, "pausing"), 30, "deleted")
    assert not any(running(pid) for pid in pids(tmp_path))


def test_a_finished_job_is_removed_after_its_ttl(client: Client, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path,
        "brief",
        pytorch_job(
            "brief", [sys.executable, "-c", "pass"], run_policy={"ttlSecondsAfterFinished": 1}
        ),
    )
    client.apply(manifest)
    wait_job(client, "brief", lambda j: j.state == "SUCCEEDED", what="succeeded")
    until(lambda: gone(client, "brief"), 30, "removed after TTL")
