"""`make demo`: start the platform and run a real KFP pipeline on it, end to end.

1. `headrace up --detach` starts the embedded nats-server and the five services.
2. `headrace run submit examples/sklearn_pipeline.py` compiles the kfp pipeline in that file
   (prepare a scikit-learn data set -> train a classifier -> evaluate it) and submits it.
3. `headrace run watch` shows the steps live; `headrace run get --json` gives the outcome.
4. The demo prints the accuracy, where each artifact and log lies, and the commands to look.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
HOME = Path(os.environ.get("HEADRACE_HOME") or Path.home() / ".headrace")


def headrace(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "headrace"), *args], text=True, capture_output=True)
    if check and done.returncode != 0:
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        raise SystemExit(f"`headrace {' '.join(args)}` failed with exit code {done.returncode}")
    return done


def main() -> None:
    print(headrace("up", "--detach").stdout, end="")
    submitted = headrace(
        "run",
        "submit",
        str(HERE / "sklearn_pipeline.py"),
        "-p",
        "seed=7",
        "-p",
        "c=0.5",
        "--name",
        "demo: breast cancer classifier",
        "--json",
    )
    run_id = json.loads(submitted.stdout)["run_id"]
    print(f"submitted run {run_id}")
    watched = subprocess.run([str(BIN / "headrace"), "run", "watch", run_id], text=True)
    run: dict[str, Any] = json.loads(headrace("run", "get", run_id, "--json").stdout)
    if run["state"] != "SUCCEEDED" or watched.returncode != 0:
        raise SystemExit(f"run {run_id} ended {run['state']}: {run.get('error', '')}")

    print(f"\nrun {run_id} SUCCEEDED - accuracy {run['output_parameters']['Output']:.4f}")
    print("\nartifacts:")
    for found in run["steps"]:
        for name, refs in found["output_artifacts"].items():
            for ref in refs:
                print(f"  {found['step_id']:>9}.{name:<12} {ref['schema_title']:<28} {ref['uri']}")
        if found["log_uri"]:
            print(f"  {found['step_id']:>9}.{'log':<12} {'stdout+stderr':<28} {found['log_uri']}")
    print(
        "\nlook further:\n"
        f"  .venv/bin/headrace run get {run_id}          # steps, outputs, durations\n"
        f"  .venv/bin/headrace run logs {run_id} train   # a step's log\n"
        f"  .venv/bin/headrace run submit examples/sklearn_pipeline.py   # again: cache hits\n"
        "  .venv/bin/headrace run list\n"
        f"  platform home {HOME} (logs in {HOME / 'logs'}); stop it: .venv/bin/headrace down"
    )


if __name__ == "__main__":
    main()
