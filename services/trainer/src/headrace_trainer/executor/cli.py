"""``headrace-executor STEP.json --out OUTCOME.json``: what a Kubernetes pod runs.

Reads a StepReady as JSON, runs it with a plain subprocess runner against the artifact store
the ``HEADRACE_ARTIFACTS`` / ``HEADRACE_S3_*`` settings name, and writes the `Outcome` JSON.
Exit status: 0 succeeded, 1 failed, 2 cancelled, 3 the step file could not be read.

In a Kubernetes pod the backend adds ``--outcome-key KEY`` (the outcome is also stored in
the artifact store under KEY, where the launcher reads it) and ``--echo-log`` (the step's log
is also copied to standard output as it is written, so the pod's log is the step's).

With ``TRACEPARENT`` (and ``TRACESTATE``) set, as the Kubernetes backend sets them to the
step's launch, the execution continues that trace as it does inside the trainer: a span
``execute <task>`` under it, whose ``run <task>`` span the user's process finds in its own
``TRACEPARENT``. Its spans are exported when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set
(service ``headrace-executor``), and carry the trace on to the user's process either way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry.trace import Tracer
from pydantic import ValidationError

from headrace_artifacts import ArtifactStore, ArtifactStoreError, open_store
from headrace_contracts import StepReady
from headrace_runtime import Settings
from headrace_telemetry import build_tracer_provider, extract

from .control import StepControl
from .core import LOG_FILE, execute
from .outcome import Outcome
from .runner import SubprocessRunner

__all__ = ["launch_context", "main"]

_EXIT = {"succeeded": 0, "failed": 1, "cancelled": 2}
ECHO_SECONDS = 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="headrace-executor", description="Run one Headrace/KFP step and report its outcome."
    )
    parser.add_argument("step", type=Path, help="StepReady JSON file")
    parser.add_argument("--out", type=Path, required=True, help="where to write the outcome")
    parser.add_argument("--workdir", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--artifacts", help="artifact store root URI (default: settings)")
    parser.add_argument("--outcome-key", help="also store the outcome under this key")
    parser.add_argument(
        "--echo-log", action="store_true", help="copy the step's log to stdout as it grows"
    )
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
    provider = build_tracer_provider("executor")
    token = otel_context.attach(launch_context(os.environ))
    try:
        outcome = asyncio.run(
            _run(step, store, workdir, echo=args.echo_log, tracer=provider.get_tracer(__name__))
        )
    finally:
        otel_context.detach(token)
        provider.shutdown()  # exports what is batched
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(outcome.model_dump_json(indent=2), encoding="utf-8")
    if args.outcome_key:
        try:
            store.put_file(args.out, args.outcome_key)
        except ArtifactStoreError as error:
            print(
                f"headrace-executor: the outcome could not be stored as {args.outcome_key}: "
                f"{error}",
                file=sys.stderr,
            )
            return 3
    return _EXIT[outcome.status]


def launch_context(env: Mapping[str, str]) -> otel_context.Context:
    """The context the launch passed in ``TRACEPARENT``/``TRACESTATE`` (empty without)."""
    return extract(
        {"traceparent": env.get("TRACEPARENT", ""), "tracestate": env.get("TRACESTATE", "")}
    )


async def _run(
    step: StepReady, store: ArtifactStore, workdir: Path, *, echo: bool, tracer: Tracer
) -> Outcome:
    log_path = workdir / LOG_FILE
    offset = [0]  # bytes of the log copied to stdout so far
    echoing = asyncio.create_task(_echo(log_path, offset)) if echo else None
    try:
        return await _execute(step, store, workdir, log_path, tracer)
    finally:
        if echoing is not None:
            echoing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await echoing
            _copy_new(log_path, offset)


async def _echo(log_path: Path, offset: list[int]) -> None:
    while True:
        _copy_new(log_path, offset)
        await asyncio.sleep(ECHO_SECONDS)


def _copy_new(log_path: Path, offset: list[int]) -> None:
    try:
        with log_path.open("rb") as file:
            file.seek(offset[0])
            data = file.read()
    except FileNotFoundError:
        return
    if data:
        offset[0] += len(data)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


async def _execute(
    step: StepReady, store: ArtifactStore, workdir: Path, log_path: Path, tracer: Tracer
) -> Outcome:
    control = StepControl()
    loop = asyncio.get_running_loop()
    # The pod is told to stop with SIGTERM: pass it on to the step, then report it cancelled.
    loop.add_signal_handler(signal.SIGTERM, control.cancel, "the executor received SIGTERM", 10.0)
    try:
        return await execute(
            step,
            store,
            workdir,
            SubprocessRunner(),
            control=control,
            log_path=log_path,
            tracer=tracer,
        )
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
