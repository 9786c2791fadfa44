"""What running a training script as a Headrace job costs over running it directly.

The script is examples/training/ddp/train.py alone (one process, no process group) on a
larger model than its default, for a number of epochs that makes it last about 20 seconds
here: two short calibration runs measure the start-up and the time per epoch, unless
``--epochs`` fixes it. The same command is then timed

    direct          a plain subprocess, as `python train.py` from a shell
    headrace job    a one-replica PyTorchJob through the client's `apply` on a platform that
                    `headrace up` started in a temporary home, from just before apply to
                    the job's Succeeded time the trainer recorded (`last_loss` checked)

``--repeat`` times each, alternated, and the ratio of the medians job / direct is printed
(target below 1.05). Then, ``--tries`` times, a
``--replicas``-replica PyTorchJob (Master + Workers running ``sleep 2``) is applied, and the
seconds from just before `apply` to the moment the trainer recorded every replica running
(the job's ``started_at``, set with its Running condition) are printed with their median
(target under 1 s).

    .venv/bin/python bench/training_overhead.py [--seconds 20] [--epochs N] [--repeat 1]
        [--replicas 4] [--tries 5] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headrace.client import Client
    from headrace_contracts import TrainingJobView

TRAIN = Path(__file__).resolve().parents[1] / "examples" / "training" / "ddp" / "train.py"
# Epochs of a fraction of a second each on one thread (the calibration runs differ by a few
# seconds, well above the noise of start-up, which is mostly importing torch).
WORKLOAD = ("--samples", "16384", "--features", "128", "--hidden", "512", "--batch-size", "128")
CALIBRATION_EPOCHS = (1, 21)
DIST_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK")


def train_command(epochs: int, output: Path) -> list[str]:
    return [sys.executable, str(TRAIN), *WORKLOAD, "--epochs", str(epochs), "--output", str(output)]


def train_env(threads: int) -> dict[str, str]:
    """This environment without torchrun variables (so train.py runs alone), fixed threads."""
    env = {name: value for name, value in os.environ.items() if name not in DIST_VARIABLES}
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def run_direct(epochs: int, threads: int, workdir: Path) -> float:
    """Wall seconds of train.py as a plain subprocess, start to exit."""
    started = time.perf_counter()
    finished = subprocess.run(
        train_command(epochs, workdir / "direct" / "model.pt"),
        cwd=workdir,
        env=train_env(threads),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(
            f"train.py failed ({finished.returncode}):\n{finished.stdout}{finished.stderr}"
        )
    return elapsed


def headrace_cli() -> str:
    beside = Path(sys.executable).parent / "headrace"
    return str(beside) if beside.exists() else "headrace"


@contextlib.contextmanager
def platform() -> Iterator[Client]:
    """`headrace up` in a temporary home (embedded NATS, every service), a client on it,
    and `headrace down` at the end."""
    from headrace.client import Client

    cli = headrace_cli()
    with tempfile.TemporaryDirectory(prefix="headrace-bench-home-") as home:
        up = subprocess.run(
            [cli, "up", "--home", home, "--detach"], capture_output=True, text=True, check=False
        )
        if up.returncode != 0:
            raise SystemExit(f"`headrace up` failed ({up.returncode}):\n{up.stdout}{up.stderr}")
        try:
            status = subprocess.run(
                [cli, "status", "--home", home, "--json"],
                capture_output=True,
                text=True,
                check=True,
            )
            with Client(nats_url=json.loads(status.stdout)["nats_url"], timeout=10) as client:
                yield client
        finally:
            subprocess.run([cli, "down", "--home", home], check=False, capture_output=True)


def pytorchjob(name: str, command: list[str], env: dict[str, str], workers: int = 0) -> str:
    container = {
        "name": "pytorch",
        "command": command,
        "env": [{"name": k, "value": v} for k, v in env.items()],
    }
    spec = {"restartPolicy": "Never", "template": {"spec": {"containers": [container]}}}
    replicas: dict[str, Any] = {"Master": {"replicas": 1, **spec}}
    if workers:
        replicas["Worker"] = {"replicas": workers, **spec}
    return json.dumps(
        {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "metadata": {"name": name},
            "spec": {"pytorchReplicaSpecs": replicas, "runPolicy": {"backoffLimit": 0}},
        }
    )  # JSON is YAML


def wait_for(
    client: Client, name: str, done: Callable[[TrainingJobView], bool], every: float
) -> TrainingJobView:
    """Polls the job every ``every`` seconds until ``done`` or its end. The figures come from
    the times the trainer recorded, so the polling rate does not bound their precision (and
    is kept low: each poll is a query the trainer answers, CPU the job would miss)."""
    deadline = time.monotonic() + 600
    while True:
        job = client.get_job(name)
        if done(job) or job.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return job
        if time.monotonic() > deadline:
            raise SystemExit(f"training job {name} is still {job.state} after 600 s")
        time.sleep(every)


def run_as_headrace_job(
    client: Client, epochs: int, threads: int, workdir: Path, name: str
) -> float:
    """Wall seconds of the same command as a one-replica PyTorchJob, from just before
    `apply` to the job's Succeeded time as the trainer recorded it (``finished_at``; same
    machine, same clock). ``env -u`` drops the distributed variables the job gives its
    Master, so train.py runs alone, as it does directly (no process group)."""
    unset = [arg for variable in DIST_VARIABLES for arg in ("-u", variable)]
    command = ["env", *unset, *train_command(epochs, workdir / name / "model.pt")]
    env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    manifest = workdir / f"{name}.yaml"
    manifest.write_text(pytorchjob(name, command, env))
    submitted = datetime.now(UTC)
    client.apply(manifest)
    job = wait_for(client, name, lambda job: False, every=0.5)
    if job.state != "SUCCEEDED" or "last_loss" not in job.metrics:
        raise SystemExit(f"the job did not train: {job.state} {job.reason}\n{job.log_tail}")
    return (_utc(job.finished_at) - submitted).total_seconds()


def _utc(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def gang_start_seconds(client: Client, workdir: Path, tries: int, replicas: int) -> list[float]:
    """For each try, seconds from just before `apply` of a ``replicas``-replica PyTorchJob to
    the moment the trainer recorded every replica running (the job's ``started_at``, set
    with its Running condition; same machine, same clock)."""
    seconds = []
    for attempt in range(tries):
        name = f"bench-gang-{attempt}"
        manifest = workdir / f"{name}.yaml"
        manifest.write_text(pytorchjob(name, ["sleep", "2"], {}, workers=replicas - 1))
        submitted = datetime.now(UTC)
        client.apply(manifest)
        job = wait_for(client, name, lambda job: bool(job.started_at), every=0.1)
        if not job.started_at:
            raise SystemExit(f"training job {name} never ran: {job.state} {job.reason}")
        seconds.append((_utc(job.started_at) - submitted).total_seconds())
        done = wait_for(client, name, lambda job: False, every=0.5)
        if done.state != "SUCCEEDED":
            raise SystemExit(f"training job {name} {done.state}: {done.reason}")
    return seconds


def calibrate(threads: int, workdir: Path, seconds: float) -> int:
    """Epochs that make one direct run last about ``seconds``."""
    few, more = CALIBRATION_EPOCHS
    short = run_direct(few, threads, workdir)
    longer = run_direct(more, threads, workdir)
    if longer - short < 0.25 * longer:  # the epochs should dominate the longer run
        raise SystemExit(
            f"calibration disturbed: {few} epoch(s) took {short:.2f} s, {more} took "
            f"{longer:.2f} s (is the machine busy?): run again, or give --epochs"
        )
    per_epoch = (longer - short) / (more - few)
    start_up = max(short - few * per_epoch, 0.0)
    return max(1, round((seconds - start_up) / per_epoch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a direct run")
    parser.add_argument("--epochs", type=int, default=None, help="skip the calibration")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of train.py")
    parser.add_argument("--repeat", type=int, default=1, help="direct/job pairs (medians)")
    parser.add_argument("--replicas", type=int, default=4, help="replicas of the gang-start job")
    parser.add_argument("--tries", type=int, default=5, help="gang starts to take the median of")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="headrace-bench-training-") as folder,
        platform() as client,
    ):
        workdir = Path(folder)
        epochs = args.epochs or calibrate(args.threads, workdir, args.seconds)
        directs, jobs = [], []
        for attempt in range(args.repeat):  # alternated, so a busy spell hits both alike
            directs.append(run_direct(epochs, args.threads, workdir))
            name = f"bench-overhead-{attempt}"
            jobs.append(run_as_headrace_job(client, epochs, args.threads, workdir, name))
        direct, job = statistics.median(directs), statistics.median(jobs)
        starts = gang_start_seconds(client, workdir, args.tries, args.replicas)
    gang = statistics.median(starts)
    result: dict[str, Any] = {
        "epochs": epochs,
        "threads": args.threads,
        "direct_s": round(direct, 3),
        "job_s": round(job, 3),
        "direct_runs_s": [round(value, 3) for value in directs],
        "job_runs_s": [round(value, 3) for value in jobs],
        "ratio": round(job / direct, 4),
        "replicas": args.replicas,
        "apply_to_running_s": [round(value, 3) for value in starts],
        "apply_to_running_median_s": round(gang, 3),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"train.py alone, {epochs} epochs, {args.threads} thread(s), median of {args.repeat}")
    print(f"  direct          {direct:8.2f} s")
    print(f"  headrace job    {job:8.2f} s   ratio {job / direct:.3f} (target < 1.05)")
    if args.repeat > 1:
        print(f"  each run        direct {result['direct_runs_s']}, job {result['job_runs_s']}")
    tries = ", ".join(f"{value:.3f}" for value in starts)
    print(
        f"apply to all {args.replicas} replicas running: median {gang:.3f} s of {len(starts)} "
        f"({tries}) (target < 1 s)"
    )


if __name__ == "__main__":
    main()
