"""A pipeline step's execution in a pod: for a backend that runs the executor itself (the
Kubernetes backend), instead of `execute` here.

The pod runs ``headrace-executor`` on the StepReady (fetching inputs, running the command,
uploading outputs and its log), and leaves its `Outcome` in the artifact store under
`outcome_key` (``--outcome-key``). The launcher starts the step's gang with the StepReady as
its ``source``, publishes StepStarted when the pod starts, waits for it to end, and reads
that outcome. A pod that ended without one (its image could not be pulled, no node could
take it, it was killed for memory, deleted, or its objects could not be created) fails the
step with the backend's reason, the exit code and the stored log's tail.

The pod's ``TRACEPARENT`` is the launch's current span (the step's handling), so its
executor's ``execute <task>`` span and the user's process continue the run's trace as they
would locally.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from headrace_artifacts import ArtifactStore, ArtifactStoreError
from headrace_contracts import StepReady
from headrace_telemetry import headers_of

from .backends.base import Gang, ReplicaLaunch, ReplicaState, WorkloadBackend
from .errors import UnknownGang, WorkloadError
from .executor import Outcome, StepControl
from .executor.logs import TAIL_BYTES, log_key, outcome_key
from .stepgang import ROLE, gang_id

__all__ = ["follow_pod", "run_in_pod", "runs_in_pods"]

OnStart = Callable[[int], Awaitable[None]]


def runs_in_pods(backend: WorkloadBackend) -> bool:
    """Whether ``backend`` runs a step's executor in a pod (so the launcher does not)."""
    return backend.name == "kubernetes"


async def run_in_pod(
    step: StepReady,
    backend: WorkloadBackend,
    store: ArtifactStore,
    control: StepControl,
    *,
    execution: int,
    on_start: OnStart,
) -> Outcome:
    """Start ``step``'s pod (execution number ``execution``) and follow it to its outcome."""
    begun = time.monotonic()
    if control.cancel_reason is not None:
        return Outcome(status="cancelled", reason=control.cancel_reason)
    replica = ReplicaLaunch(
        ROLE, 0, ("headrace-executor",), log_key=log_key(step.run_id, step.step_id, step.attempt)
    )
    # the pod's executor continues the trace of this launch, as `execute` does locally
    gang = Gang(
        gang_id(step), (replica,), attempt=execution, source=step, trace_context=headers_of()
    )
    try:
        await backend.start(gang)
    except WorkloadError as error:
        return Outcome(status="failed", reason=f"step '{step.task_name}': {error}")
    if control.cancel_reason is not None:  # asked while its objects were being created
        await backend.stop(gang.id, grace=0)
    return await follow_pod(step, backend, store, control, begun=begun, on_start=on_start)


async def follow_pod(
    step: StepReady,
    backend: WorkloadBackend,
    store: ArtifactStore,
    control: StepControl,
    *,
    begun: float,
    on_start: OnStart | None = None,
) -> Outcome:
    """Wait for the step's started (or adopted) pod to end; its outcome."""
    gang = gang_id(step)
    announced = False
    try:
        async for event in backend.events(gang):
            ran = event.kind == "started" or (
                event.kind == "adopted" and event.replica.phase.value != "Pending"
            )
            if ran and not announced and on_start is not None:
                announced = True
                await on_start(0)
        (state,) = await backend.wait(gang)
    except UnknownGang:
        return Outcome(status="failed", reason=f"step '{step.task_name}': its pod was lost")
    finally:
        control.exited()
    return await asyncio.to_thread(_outcome, step, store, control, state, begun)


def _outcome(
    step: StepReady, store: ArtifactStore, control: StepControl, state: ReplicaState, begun: float
) -> Outcome:
    duration = round(time.monotonic() - begun, 6)
    found = _stored_outcome(store, outcome_key(step.run_id, step.step_id, step.attempt))
    if control.cancel_reason is not None:
        return Outcome(status="cancelled", reason=control.cancel_reason, exit_code=state.exit_code)
    if found is not None:
        return found
    key = log_key(step.run_id, step.step_id, step.attempt)
    tail, log_uri = _tail(store, key)
    why = state.reason or "ended without leaving its outcome"
    if state.oom_killed:
        why = f"was killed for using more memory than its limit (OOMKilled): {why}"
    exit_part = f" (exit code {state.exit_code})" if state.exit_code not in (None, 0) else ""
    return Outcome(
        status="failed",
        reason=f"step '{step.task_name}': its pod {why}{exit_part}",
        exit_code=state.exit_code,
        stderr_tail=tail,
        log_uri=log_uri,
        duration_seconds=duration,
    )


def _stored_outcome(store: ArtifactStore, key: str) -> Outcome | None:
    try:
        with store.open_read(key) as reader:
            return Outcome.model_validate_json(reader.read())
    except (ArtifactStoreError, OSError, ValidationError):
        return None


def _tail(store: ArtifactStore, key: str) -> tuple[str, str]:
    try:
        with store.open_read(key) as reader:
            data = reader.read()
    except (ArtifactStoreError, OSError):
        return "", ""
    return data[-TAIL_BYTES:].decode("utf-8", errors="replace"), store.uri_for(key)
