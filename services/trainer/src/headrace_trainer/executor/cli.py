"""``headrace-executor STEP.json --out OUTCOME.json``: what a Kubernetes pod runs.

Reads a StepReady as JSON, runs it with a plain subprocess runner against the artifact store
the ``HEADRACE_ARTIFACTS`` / ``HEADRACE_S3_*`` settings name, and writes the `Outcome` JSON.
Exit status: 0 succeeded, 1 failed, 2 cancelled, 3 the step file could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError

from headrace_artifacts import ArtifactStore, open_store
from headrace_contracts import StepReady
from headrace_runtime import Settings

from .control import StepControl
from .core import execute
from .outcome import Outcome
from .runner import SubprocessRunner

__all__ = ["main"]

_EXIT = {"succeeded": 0, "failed": 1, "cancelled": 2}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="headrace-executor", description="Run one Headrace/KFP step and report its outcome."
    )
    parser.add_argument("step", type=Path, help="StepReady JSON file")
    parser.add_argument("--out", type=Path, required=True, help="where to write the outcome")
    parser.add_argument("--workdir", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--artifacts", help="artifact store root URI (default: settings)")
    args = parser.parse_args(argv)
    try:
        step = StepReady.model_validate_json(args.step.read_bytes())
    except (OSError, ValidationError) as error:
        print(
            f"headrace-executor: cannot read step {args.step}: {error}\n"
            "give a StepReady JSON file (as the scheduler publishes it)",
            file=sys.stderr,
        )
        return 3
    settings = Settings()
    store = open_store(args.artifacts or settings.artifacts_root(), **settings.s3_options())
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="headrace-step-"))
    try:
        outcome = asyncio.run(_run(step, store, workdir))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(outcome.model_dump_json(indent=2), encoding="utf-8")
    return _EXIT[outcome.status]


async def _run(step: StepReady, store: ArtifactStore, workdir: Path) -> Outcome:
    control = StepControl()
    loop = asyncio.get_running_loop()
    # The pod is told to stop with SIGTERM: pass it on to the step, then report it cancelled.
    loop.add_signal_handler(signal.SIGTERM, control.cancel, "the executor received SIGTERM", 10.0)
    try:
        return await execute(step, store, workdir, SubprocessRunner(), control=control)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
