"""`execute`: one execution of one step, the same locally and inside a Kubernetes pod.

Fetch inputs, run the user command through a `Runner`, collect output parameters and
artifacts, upload them and the log, and say what happened as an `Outcome`. Nothing is
published here: the launcher (or the pod's caller) turns the outcome into events. `follow`
is the part after the start, also for a process a trainer adopts from another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Tracer

from headrace_artifacts import ArtifactStore
from headrace_artifacts import ArtifactStoreError as StoreError
from headrace_contracts import ArtifactRef, StepReady
from headrace_telemetry import inject

from ..errors import (
    ForkServerDied,
    GangStopped,
    OutputError,
    PlaceholderError,
    StepError,
    StepLost,
    WorkloadError,
)
from .control import StepControl
from .live_log import LiveLog
from .logs import exception_line, log_key, read_tail
from .outcome import Metric, Outcome
from .parameters import coerce_parameter, parse_parameter
from .plan import Plan, plan_step
from .runner import Records, Runner, Running, describe_exit
from .staging import Staging

__all__ = ["LOG_FILE", "OnPlan", "OnStart", "execute", "follow"]

LOG_FILE = "log.txt"
# A step past its timeout gets SIGTERM, then SIGKILL this much later (as a cancelled one).
TIMEOUT_GRACE_SECONDS = 10.0
OnStart = Callable[[int], Awaitable[None]]
OnPlan = Callable[[Plan], None]
log = logging.getLogger("headrace.trainer.executor")


async def execute(
    step: StepReady,
    store: ArtifactStore,
    workdir: Path,
    runner: Runner,
    *,
    control: StepControl | None = None,
    on_start: OnStart | None = None,
    on_plan: OnPlan | None = None,
    records: Records | None = None,
    log_path: Path | None = None,
    tracer: Tracer | None = None,
) -> Outcome:
    """Run ``step`` in ``workdir`` (created here; the caller removes it); its outcome.

    ``on_plan`` sees the plan before the process starts (the launcher keeps it for a trainer
    that adopts the step); ``records`` says where the process leaves its records;
    ``log_path`` where its log goes (default: ``log.txt`` in ``workdir``). A runner that
    starts the process as a backend's gang may raise `GangStopped` (cancelled while it
    waited for resources) or another `WorkloadError` (it cannot run there).

    With ``tracer``, the execution is a span ``execute <task>`` under the current one, with
    ``download <task>`` (inputs), ``run <task>`` (the user's process, which finds that
    span's context in ``TRACEPARENT`` to add its own) and ``upload <task>`` (outputs, log).
    """
    tracer = tracer or trace.NoOpTracer()
    with tracer.start_as_current_span(f"execute {step.task_name}", attributes=_about(step)):
        return await _execute(
            step, store, workdir, runner, control, on_start, on_plan, records, log_path, tracer
        )


async def _execute(
    step: StepReady,
    store: ArtifactStore,
    workdir: Path,
    runner: Runner,
    control: StepControl | None,
    on_start: OnStart | None,
    on_plan: OnPlan | None,
    records: Records | None,
    log_path: Path | None,
    tracer: Tracer,
) -> Outcome:
    begun = time.monotonic()
    control = control or StepControl()
    staging = Staging(store, workdir)
    log_path = log_path or workdir / LOG_FILE
    try:
        with tracer.start_as_current_span(f"download {step.task_name}"):
            plan = await asyncio.to_thread(plan_step, step, staging, log_path)
    except StepError as error:
        return _outcome(begun, status="failed", reason=_reason(step, error))
    if control.cancel_reason is not None:
        return _outcome(begun, status="cancelled", reason=control.cancel_reason)
    if on_plan is not None:
        on_plan(plan)
    launch = plan.launch if records is None else replace(plan.launch, records=records)
    user = tracer.start_span(f"run {step.task_name}", attributes=_about(step))
    launch = replace(launch, env={**launch.env, **_trace_env(user)})
    try:
        running = await runner.start(launch)
    except StepError as error:
        user.end()
        return _outcome(begun, status="failed", reason=_reason(step, error))
    except GangStopped:
        user.end()
        return _outcome(begun, status="cancelled", reason=control.cancel_reason or "cancelled")
    except WorkloadError as error:
        user.end()
        return _outcome(begun, status="failed", reason=f"step '{step.task_name}': {error}")
    except BaseException:
        user.end()
        raise
    return await follow(
        step, store, plan, running, control, begun=begun, on_start=on_start, traced=(tracer, user)
    )


def _about(step: StepReady) -> dict[str, str | int]:
    return {
        "headrace.run_id": step.run_id,
        "headrace.step_id": step.step_id,
        "headrace.attempt": step.attempt,
    }


def _trace_env(span: Span) -> dict[str, str]:
    """``TRACEPARENT`` (and ``TRACESTATE``) of ``span``, as OpenTelemetry's SDKs read them."""
    carrier: dict[str, str] = {}
    inject(carrier, trace.set_span_in_context(span))
    return {key.upper(): value for key, value in carrier.items()}


async def follow(
    step: StepReady,
    store: ArtifactStore,
    plan: Plan,
    running: Running,
    control: StepControl,
    *,
    begun: float,
    ran: float = 0.0,
    on_start: OnStart | None = None,
    traced: tuple[Tracer, Span] | None = None,
) -> Outcome:
    """Wait for the started process of ``plan`` and make its outcome: the rest of
    `execute`, also for a process another trainer started (``ran``: the seconds it has run
    already, which count against its timeout; ``begun``: when its execution began, on the
    monotonic clock).

    Raises `StepLost` when the process ended and nobody recorded how. ``traced``: the
    tracer and the ``run`` span of the process, ended when it exits (see `execute`).
    """
    tracer, user = traced or (trace.NoOpTracer(), trace.INVALID_SPAN)
    staging = Staging(store, plan.launch.cwd)
    log_path = plan.launch.log_path
    control.attach(running.pid)
    timeout = step.timeout_seconds
    live = LiveLog(store, log_path, log_key(step.run_id, step.step_id, step.attempt))
    live.start()
    try:
        if on_start is not None:
            await on_start(running.pid)
        left = max(timeout - ran, 0.001) if timeout else None
        code, timed_out = await _wait(running, control, left)
    except ForkServerDied as error:
        await live.stop()
        control.kill_now()
        control.exited()
        tail = read_tail(log_path)
        log_uri = await _store_log(staging, log_path, step)
        return _outcome(
            begun,
            status="failed",
            reason=f"step '{step.task_name}': {error}",
            stderr_tail=tail,
            log_uri=log_uri,
        )
    except StepLost:
        control.exited()  # gone already: its pid may be another process's by now
        raise
    except BaseException:
        control.kill_now()
        raise
    finally:
        control.exited()
        user.end()
        await live.stop()  # before the final copy of the log

    with tracer.start_as_current_span(f"upload {step.task_name}"):
        return await _finish(step, plan, staging, control, code, timed_out, begun)


async def _finish(
    step: StepReady,
    plan: Plan,
    staging: Staging,
    control: StepControl,
    code: int,
    timed_out: bool,
    begun: float,
) -> Outcome:
    """The outcome of the process that exited with ``code``, its log and outputs stored."""
    log_path = plan.launch.log_path
    log_uri = await _store_log(staging, log_path, step)
    tail = read_tail(log_path)
    common: dict[str, Any] = {"log_uri": log_uri, "stderr_tail": tail}
    if control.cancel_reason is not None:
        return _outcome(
            begun, status="cancelled", reason=control.cancel_reason, exit_code=code, **common
        )
    if timed_out:
        reason = (
            f"step '{step.task_name}' ran longer than its timeout of "
            f"{step.timeout_seconds:g} s and was killed: raise the task's timeout or make it faster"
        )
        return _outcome(begun, status="failed", reason=reason, exit_code=code, **common)
    if code != 0:
        reason = f"step '{step.task_name}' {describe_exit(code)}" + _hint(plan, tail)
        return _outcome(begun, status="failed", reason=reason, exit_code=code, **common)
    try:
        parameters, artifacts, metrics = await asyncio.to_thread(_collect, plan, staging)
    except StepError as error:
        return _outcome(begun, status="failed", reason=_reason(step, error), exit_code=0, **common)
    return _outcome(
        begun,
        status="succeeded",
        exit_code=0,
        output_parameters=parameters,
        output_artifacts=artifacts,
        metrics=metrics,
        **common,
    )


def _outcome(begun: float, **fields: Any) -> Outcome:
    return Outcome(duration_seconds=round(time.monotonic() - begun, 6), **fields)


async def _wait(running: Running, control: StepControl, timeout: float | None) -> tuple[int, bool]:
    waiter = asyncio.ensure_future(running.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout if timeout else None)
        if done:
            return waiter.result(), False
        control.expire(TIMEOUT_GRACE_SECONDS)
        return await waiter, True
    finally:
        if not waiter.done():
            waiter.cancel()


async def _store_log(staging: Staging, log_path: Path, step: StepReady) -> str:
    try:
        return await asyncio.to_thread(
            staging.store_log, log_path, log_key(step.run_id, step.step_id, step.attempt)
        )
    except StoreError as error:
        log.warning("step %s: its log could not be stored: %s", step.step_id, error)
        return ""


def _collect(
    plan: Plan, staging: Staging
) -> tuple[dict[str, Any], dict[str, list[ArtifactRef]], list[Metric]]:
    reported = _executor_output(plan.executor_output)
    values = reported.get("parameterValues") or {}
    parameters: dict[str, Any] = {}
    for name, kfp_type in plan.parameter_types.items():
        path = plan.parameter_files[name]
        if name in values:
            parameters[name] = coerce_parameter(name, values[name], kfp_type)
        elif path.is_file():
            parameters[name] = parse_parameter(name, path.read_text(encoding="utf-8"), kfp_type)
        else:
            raise OutputError(
                f"declares output parameter '{name}' but did not write it (expected it in "
                f"{plan.executor_output.name} or as text at {path}): return it from the "
                "component or write its output file"
            )
    artifacts: dict[str, list[ArtifactRef]] = {}
    metrics: list[Metric] = []
    reported_artifacts = reported.get("artifacts") or {}
    for out in plan.artifacts:
        listed = (reported_artifacts.get(out.name) or {}).get("artifacts") or [{}]
        returned = listed[0] if isinstance(listed[0], dict) else {}
        metadata = dict(returned.get("metadata") or {})
        info = staging.store_returned(out.name, out.target, out.path, returned, out.schema_title)
        artifacts[out.name] = [
            ArtifactRef(
                uri=info.uri,
                name=out.name,
                schema_title=out.schema_title,
                schema_version=out.schema_version,
                digest=info.digest,
                size=info.size,
                is_dir=info.is_dir,
                metadata=metadata,
            )
        ]
        if out.schema_title == "system.Metrics":
            metrics.extend(_metrics(out.name, metadata))
    return parameters, artifacts, metrics


def _executor_output(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise OutputError(
            f"wrote {path.name} that is not JSON ({error}): write an ExecutorOutput JSON object "
            "to {{$.outputs.output_file}}, or nothing"
        ) from error
    if not isinstance(found, dict):
        raise OutputError(f"wrote {path.name} that is not a JSON object: write an ExecutorOutput")
    return found


def _metrics(output_name: str, metadata: dict[str, Any]) -> list[Metric]:
    return [
        Metric(output_name=output_name, name=key, value=float(value))
        for key, value in metadata.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ]


def _reason(step: StepReady, error: StepError) -> str:
    text = str(error)
    if text.startswith("step '"):
        return text
    if isinstance(error, PlaceholderError):
        return f"step '{step.task_name}': {text}"
    return f"step '{step.task_name}' {text}"


def _hint(plan: Plan, tail: str) -> str:
    raised = exception_line(tail) if plan.launch.python is not None else ""
    if raised:
        return f": {raised}" + _package_hint(plan, tail)
    return _package_hint(plan, tail)


def _package_hint(plan: Plan, tail: str) -> str:
    if "ModuleNotFoundError" in tail and plan.packages:
        wanted = ", ".join(plan.packages)
        return (
            f" (the component asks for packages {wanted}: check that they provide the missing "
            "module, and that the trainer installs them: HEADRACE_TRAINER_STEP_ENVIRONMENTS "
            "must not be off)"
        )
    return ""
