"""Hyperparameter tuning through Headrace against Optuna in-process.

Part 1, quality: Branin (minimum 0.397887) with ``--trials`` trials, ``--parallel`` at a
time, over ``--seeds`` seeds, with ``tpe`` and ``bayesianoptimization`` (the latter only
when PyTorch is installed), each as a Katib experiment on a platform `headrace up` started
in a temporary home (every trial a training job: a process printing ``loss=<value>``), and
with the same Optuna sampler in this process (ask/tell, the same seed, the same number of
trials out at a time). Prints the median
best value of each, and Headrace's per-trial scheduling overhead: from a trial's job ending
(the trainer's record) to the next trial's job starting, for every trial that waited for a
slot.

Part 2, scale: ``--many`` trials of a trivial objective with ``random`` and ``tpe``, and the
median overhead around trial 1,000 and over the last 1,000 (no growth expected beyond the
sampler's own time). Beside each, the sampler's own time to ask once (in this process, in
memory, the same sampler) with a study of that many finished trials, which is the part of the
overhead that may grow. The issue's figures use ``--many 20000``.

    .venv/bin/python bench/tuning.py [--trials 50] [--parallel 3] [--seeds 5]
        [--algorithms tpe,bayesianoptimization] [--many 2000]
        [--scale-algorithms random,tpe] [--skip-quality]
        [--skip-scale] [--json]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import importlib.util
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headrace.client import Client

BRANIN_MIN = 0.397887
BRANIN = (
    "import math, os\n"
    "x1, x2 = float(os.environ['X1']), float(os.environ['X2'])\n"
    "b, c, r, s, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)\n"
    "print(f'loss={(x2 - b * x1 ** 2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s}')\n"
)
TRIVIAL = "import os\nprint(f\"loss={float(os.environ['X1']) ** 2}\")\n"


def branin(x1: float, x2: float) -> float:
    b, c, r, s, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


@contextlib.contextmanager
def platform() -> Iterator[Client]:
    """`headrace up` in a temporary home, a client on it, and `headrace down` at the end."""
    from headrace.client import Client

    cli = str(Path(sys.executable).parent / "headrace")
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
            with Client(nats_url=json.loads(status.stdout)["nats_url"], timeout=30) as client:
                yield client
        finally:
            subprocess.run([cli, "down", "--home", home], check=False, capture_output=True)


def experiment(
    name: str, code: str, algorithm: str, seed: int, trials: int, parallel: int, second: bool = True
) -> str:
    parameters = [
        {"name": "x1", "parameterType": "double", "feasibleSpace": {"min": "-5", "max": "10"}}
    ]
    if second:
        parameters.append(
            {"name": "x2", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "15"}}
        )
    env = [
        {"name": p["name"].upper(), "value": f"${{trialParameters.{p['name']}}}"}
        for p in parameters
    ]
    container = {"name": "trial", "command": [sys.executable, "-c", code], "env": env}
    setting = "n_initial_points" if algorithm == "bayesianoptimization" else "n_startup_trials"
    settings = [{"name": "random_state", "value": str(seed)}]
    if algorithm != "random":
        settings.append({"name": setting, "value": "10"})
    return json.dumps(
        {
            "apiVersion": "kubeflow.org/v1beta1",
            "kind": "Experiment",
            "metadata": {"name": name},
            "spec": {
                "objective": {"type": "minimize", "objectiveMetricName": "loss"},
                "algorithm": {"algorithmName": algorithm, "algorithmSettings": settings},
                "parallelTrialCount": parallel,
                "maxTrialCount": trials,
                "parameters": parameters,
                "trialTemplate": {
                    "trialParameters": [
                        {"name": p["name"], "reference": p["name"]} for p in parameters
                    ],
                    "trialSpec": {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "spec": {"template": {"spec": {"containers": [container]}}},
                    },
                },
            },
        }
    )


def run_experiment(client: Client, text: str, name: str) -> tuple[float, list[float], float]:
    """(best value, per-trial overheads in seconds, wall seconds) of one experiment."""
    started = time.monotonic()
    client.apply(text + "\n")
    done = client.wait_experiment(name, timeout=7200)
    wall = time.monotonic() - started
    if done.state != "SUCCEEDED" or done.best_trial is None:
        raise SystemExit(f"experiment {name} {done.state}: {done.message}")
    jobs = [client.get_job(t.name) for t in done.trials]
    spans = sorted(
        (datetime.fromisoformat(j.started_at), datetime.fromisoformat(j.finished_at))
        for j in jobs
        if j.started_at and j.finished_at
    )
    ends = sorted(end for _, end in spans)
    overheads = []
    parallel = done.parallel_trial_count
    for position, (start, _) in enumerate(spans):
        if position < parallel:
            continue  # started at once, no slot to wait for
        freed = bisect.bisect_right(ends, start)  # the slots freed before this start
        if freed:
            overheads.append((start - ends[freed - 1]).total_seconds())
    client.delete_experiment(name)
    return done.best_trial.objective_value or math.inf, overheads, wall


def in_process(algorithm: str, seed: int, trials: int, parallel: int) -> float:
    """The same search in this process, ``parallel`` trials out at a time as the tuner runs
    them: one asked each time the oldest is told."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if algorithm == "tpe":
        sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=10, constant_liar=parallel > 1
        )
    else:
        sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=10)
    study = optuna.create_study(sampler=sampler)
    space = {
        "x1": optuna.distributions.FloatDistribution(-5, 10),
        "x2": optuna.distributions.FloatDistribution(0, 15),
    }
    out = [study.ask(space) for _ in range(min(parallel, trials))]
    asked = len(out)
    while out:
        trial = out.pop(0)
        study.tell(trial, branin(trial.params["x1"], trial.params["x2"]))
        if asked < trials:
            out.append(study.ask(space))
            asked += 1
    return float(study.best_value)


def quality(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    algorithms = [a for a in args.algorithms.split(",") if a]
    if "bayesianoptimization" in algorithms and importlib.util.find_spec("torch") is None:
        print("bayesianoptimization skipped: it is Optuna's GP sampler, which needs PyTorch")
        algorithms.remove("bayesianoptimization")
    out: dict[str, Any] = {}
    for algorithm in algorithms:
        bests, inprocess, overheads, walls = [], [], [], []
        for seed in range(args.seeds):
            name = f"branin-{algorithm[:5]}-{seed}"
            text = experiment(name, BRANIN, algorithm, seed, args.trials, args.parallel)
            best, waited, wall = run_experiment(client, text, name)
            bests.append(best)
            overheads += waited
            walls.append(wall)
            inprocess.append(in_process(algorithm, seed, args.trials, args.parallel))
        out[algorithm] = {
            "headrace_best": bests,
            "optuna_best": inprocess,
            "headrace_median_best": statistics.median(bests),
            "optuna_median_best": statistics.median(inprocess),
            "overhead_ms_median": 1000 * statistics.median(overheads) if overheads else None,
            "wall_seconds_median": statistics.median(walls),
        }
    return out


def sampler_ask_ms(algorithm: str, finished: int, asks: int = 21) -> float:
    """Median milliseconds Optuna's own sampler takes to ask once, in memory, in a study of
    ``finished`` trials of the scale part's objective (the tuner's settings: 10 startup
    trials, a constant liar)."""
    import random

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler: optuna.samplers.BaseSampler
    if algorithm == "tpe":
        sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=10, constant_liar=True)
    else:
        sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    space = {"x1": optuna.distributions.FloatDistribution(-5, 10)}
    draw = random.Random(0)
    for _ in range(finished):
        x1 = draw.uniform(-5, 10)
        study.add_trial(
            optuna.trial.create_trial(params={"x1": x1}, distributions=space, value=x1**2)
        )
    times = []
    for _ in range(asks):
        started = time.perf_counter()
        trial = study.ask(space)
        times.append(time.perf_counter() - started)
        study.tell(trial, trial.params["x1"] ** 2)
    return 1000 * statistics.median(times)


def scale(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for algorithm in [a for a in args.scale_algorithms.split(",") if a]:
        name = f"many-{algorithm}"
        text = experiment(name, TRIVIAL, algorithm, 0, args.many, args.parallel, second=False)
        _, overheads, wall = run_experiment(client, text, name)
        early = overheads[max(0, 900) : 1100] or overheads[: len(overheads) // 2]
        late = overheads[-1000:]
        out[algorithm] = {
            "trials": args.many,
            "overhead_ms_near_1000": 1000 * statistics.median(early) if early else None,
            "overhead_ms_last_1000": 1000 * statistics.median(late) if late else None,
            "sampler_ask_ms_at_1000": sampler_ask_ms(algorithm, min(1000, args.many)),
            "sampler_ask_ms_at_end": sampler_ask_ms(algorithm, args.many),
            "wall_seconds": wall,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--many", type=int, default=2000)
    parser.add_argument(
        "--algorithms", default="tpe,bayesianoptimization", help="of the quality part, by comma"
    )
    parser.add_argument("--scale-algorithms", default="random,tpe", help="of the scale part")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"branin_minimum": BRANIN_MIN}
    with platform() as client:
        if not args.skip_quality:
            results["quality"] = quality(client, args)
        if not args.skip_scale:
            results["scale"] = scale(client, args)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for algorithm, found in results.get("quality", {}).items():
        print(
            f"{algorithm:>22}: median best {found['headrace_median_best']:.6f} through Headrace, "
            f"{found['optuna_median_best']:.6f} in-process (minimum {BRANIN_MIN}); "
            f"overhead {found['overhead_ms_median']:.0f} ms per trial; "
            f"{found['wall_seconds_median']:.1f} s per experiment"
        )
    for algorithm, found in results.get("scale", {}).items():
        print(
            f"{algorithm:>22}: {found['trials']} trials in {found['wall_seconds']:.0f} s; "
            f"overhead {found['overhead_ms_near_1000']:.0f} ms near trial 1000, "
            f"{found['overhead_ms_last_1000']:.0f} ms over the last 1000; "
            f"the sampler alone asks in {found['sampler_ask_ms_at_1000']:.1f} ms at 1000 "
            f"trials, {found['sampler_ask_ms_at_end']:.1f} ms at {found['trials']}"
        )


if __name__ == "__main__":
    main()
