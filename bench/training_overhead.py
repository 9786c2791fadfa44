"""What running a training script as a Headrace job costs over running it directly.

The script is examples/training/ddp/train.py alone (one process, no process group) on a
larger model than its default, for a number of epochs that makes it last about 20 seconds
here: two short calibration runs measure the start-up and the time per epoch, unless
``--epochs`` fixes it. The same command is then timed

    direct          a plain subprocess, as `python train.py` from a shell
    headrace job    a one-replica PyTorchJob through `headrace apply`, from apply to Succeeded
                    (not measured yet: see run_as_headrace_job)

and the ratio job / direct is printed once both are measured (target below 1.05).

    .venv/bin/python bench/training_overhead.py [--seconds 20] [--epochs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRAIN = Path(__file__).resolve().parents[1] / "examples" / "training" / "ddp" / "train.py"
# Epochs of a fraction of a second each on one thread (the calibration runs differ by a few
# seconds, well above the noise of start-up, which is mostly importing torch).
WORKLOAD = ("--samples", "16384", "--features", "128", "--hidden", "512", "--batch-size", "128")
CALIBRATION_EPOCHS = (1, 21)


def train_command(epochs: int, output: Path) -> list[str]:
    return [sys.executable, str(TRAIN), *WORKLOAD, "--epochs", str(epochs), "--output", str(output)]


def train_env(threads: int) -> dict[str, str]:
    """This environment without torchrun variables (so train.py runs alone), fixed threads."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"}
    }
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


def run_as_headrace_job(epochs: int, threads: int, workdir: Path) -> float | None:
    """Wall seconds of the same command as a one-replica Headrace training job, from
    `headrace apply` to the job's Succeeded condition; None while it cannot be measured.

    TO BE PLUGGED IN once `headrace apply` exists (issue 9): start the platform (as
    bench/step_envs.py does), write a PyTorchJob whose single Master replica runs
    ``train_command(epochs, ...)`` with ``train_env(threads)``, apply it, wait for Succeeded,
    check the replica's exit code and its ``last_loss=`` metric, and return the wall time.
    """
    del epochs, threads, workdir
    return None


def calibrate(threads: int, workdir: Path, seconds: float) -> int:
    """Epochs that make one direct run last about ``seconds``."""
    few, more = CALIBRATION_EPOCHS
    short = run_direct(few, threads, workdir)
    longer = run_direct(more, threads, workdir)
    per_epoch = max((longer - short) / (more - few), 1e-3)
    start_up = max(short - few * per_epoch, 0.0)
    return max(1, round((seconds - start_up) / per_epoch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a direct run")
    parser.add_argument("--epochs", type=int, default=None, help="skip the calibration")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of train.py")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="headrace-bench-training-") as folder:
        workdir = Path(folder)
        epochs = args.epochs or calibrate(args.threads, workdir, args.seconds)
        direct = run_direct(epochs, args.threads, workdir)
        job = run_as_headrace_job(epochs, args.threads, workdir)
    result: dict[str, float | int | None] = {
        "epochs": epochs,
        "threads": args.threads,
        "direct_s": round(direct, 3),
        "job_s": None if job is None else round(job, 3),
        "ratio": None if job is None else round(job / direct, 4),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"train.py alone, {epochs} epochs, {args.threads} thread(s)")
    print(f"  direct          {direct:8.2f} s")
    if job is None:
        print("  headrace job    not measured: needs `headrace apply` (issue 9)")
    else:
        print(f"  headrace job    {job:8.2f} s   ratio {job / direct:.3f} (target < 1.05)")


if __name__ == "__main__":
    main()
