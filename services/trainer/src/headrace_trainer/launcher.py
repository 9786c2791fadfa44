"""The step launcher: runs each ready step through the workload backend.

Per StepReady: answer at once if the step was cancelled (and never started here), else
hold the step attempt's folder in the `Ledger` (waiting while another trainer on this
machine holds it) and:

* its outcome is recorded already (a trainer died before its events went out): publish it;
* its latest execution was started by a trainer gone since: `adopt` its gang from the
  execution's folder and follow it to its end (cancel and timeout reach it as any step),
  collecting its outputs as `execute` does; an execution whose process is gone unrecorded
  runs again;
* otherwise: refuse it at once if it asks for more than this machine has, wait until
  ``not_before``, and run it through `execute`, whose process starts as a one-replica gang
  on the backend (`stepgang`): the backend waits for its CPUs, memory and GPUs and one of
  ``concurrency`` slots, gives it its GPUs and a cgroup for its limits, and starts it with
  the runner of its Python environment (``envs/``: the warm fork server); StepStarted goes
  out when the process starts.

The launcher reaches the step's process only through the backend (`WorkloadBackend`:
start, wait, stop, adopt, remove); by default a `LocalBackend` sharing `Placement`'s
capacity, so steps and gangs never hold the same GPU.

The outcome is recorded before its events are handed back for the handler to publish
through the outbox. A CancelStep (seen by every replica) stops the step here if this
replica runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Tracer

from headrace_artifacts import ArtifactStore
from headrace_bus import DeadLetter
from headrace_contracts import (
    CancelStep,
    Message,
    StepCancelled,
    StepFailed,
    StepReady,
    StepStarted,
    derive_event_id,
)
from headrace_runtime import HandlerContext

from .backends import WorkloadBackend
from .backends.base import ReplicaState
from .backends.local import LocalBackend
from .cgroups import probe
from .config import TrainerSettings
from .envs import EnvironmentFailed, StepEnvironments
from .errors import StepLost, UnknownGang, WorkloadError
from .events import outcome_events
from .executor import LOG_FILE, Outcome, Runner, StepControl, execute
from .executor.control import kill_group
from .executor.core import follow
from .executor.logs import log_key
from .ledger import Attempt, Execution, Ledger
from .machine import detect_machine
from .placement import NOTICE_PREFIX, Placement
from .podstep import follow_pod, run_in_pod, runs_in_pods
from .stepgang import GangProcess, GangRunner, gang_id, stopper

__all__ = ["Announce", "LocalLauncher"]

Announce = Callable[[Message, str], Awaitable[Any]]
StepKey = tuple[str, str]
log = logging.getLogger("headrace.trainer.launcher")


class LocalLauncher:
    def __init__(
        self,
        *,
        store: ArtifactStore,
        work_root: Path,
        runner: Runner,
        worker: str,
        announce: Announce,
        config: TrainerSettings | None = None,
        service: str = "trainer",
        placement: Placement | None = None,
        environments: StepEnvironments | None = None,
        backend: WorkloadBackend | None = None,
    ) -> None:
        """``backend`` runs the steps' processes; by default a `LocalBackend` on
        ``placement``'s capacity and cgroups, with ``concurrency`` slots."""
        self.store = store
        self.ledger = Ledger(work_root)
        self.runner = runner
        self.worker = worker
        self.config = config or TrainerSettings()
        self.placement = placement or _placement(self.config)
        self.backend: WorkloadBackend = backend or LocalBackend(
            work_root / ".gangs",  # unused by steps: their records are in the ledger
            self.placement.capacity,
            enforcer=self.placement.enforcer,
            concurrency=self.config.concurrency,
        )
        self.environments = environments
        self._announce = announce
        self._service = service
        self._running: dict[StepKey, StepControl] = {}
        self._cancelled: dict[StepKey, tuple[str, float]] = {}
        self.tracer: Tracer = trace.NoOpTracer()
        """The service's tracer (set when it starts): queue waits and executions are spans."""

    @property
    def slots_used(self) -> int:
        """Steps running now, each holding one of the ``concurrency`` slots."""
        return len(self._running)

    # handlers --------------------------------------------------------------------------

    async def handle(self, step: StepReady, ctx: HandlerContext[Any]) -> None:
        """The StepReady handler: run the step, publish its outcome through the outbox."""
        for message, key in await self.run(step, ctx.event_id):
            ctx.publish(message, key=key)

    async def given_up(self, step: StepReady, ctx: HandlerContext[Any], dead: DeadLetter) -> None:
        """The StepReady give-up hook: the bus gives up on ``step`` (an error that is not
        retryable, or retries used up), so its run learns that the step failed."""
        reason = f"step '{step.task_name}': the trainer could not run it: {dead.error}"
        failed = StepFailed(
            run_id=step.run_id, step_id=step.step_id, attempt=step.attempt, reason=reason
        )
        ctx.publish(failed, key="given-up")

    async def cancel(self, command: CancelStep) -> None:
        """The CancelStep listener: remember it, and stop the step if it runs here."""
        key = (command.run_id, command.step_id)
        reason = command.reason or "cancelled on request"
        self._remember(key, reason)
        control = self._running.get(key)
        if control is not None:
            log.info("cancelling step %s of run %s: %s", key[1], key[0], reason)
            control.cancel(reason, command.grace_seconds)

    # the work --------------------------------------------------------------------------

    async def run(self, step: StepReady, cause_id: str) -> list[tuple[Message, str]]:
        """Run ``step`` (or not, when cancelled) and return the events to publish."""
        key = (step.run_id, step.step_id)
        reason = self._cancel_reason(key)
        if reason is not None and not await asyncio.to_thread(self.ledger.known, step):
            return [(StepCancelled(run_id=step.run_id, step_id=step.step_id, reason=reason), "")]
        control = StepControl(stop=stopper(self.backend, gang_id(step)))
        if reason is not None:  # and a trainer here may have started it: stop what runs
            control.cancel(reason)
        self._running[key] = control
        try:
            outcome = await self._run(step, control, cause_id)
        finally:
            if self._running.get(key) is control:
                del self._running[key]
        return outcome_events(step, outcome, self.worker)

    async def _run(self, step: StepReady, control: StepControl, cause_id: str) -> Outcome:
        try:
            return await self._run_held(step, control, cause_id)
        finally:
            with contextlib.suppress(WorkloadError):  # one that still runs: left for adoption
                await self.backend.remove(gang_id(step))

    async def _run_held(self, step: StepReady, control: StepControl, cause_id: str) -> Outcome:
        async with self.ledger.hold(step) as attempt:
            previous = await asyncio.to_thread(attempt.recall)
            if isinstance(previous, Outcome):
                log.info(
                    "step %s of run %s: publishing its recorded outcome", step.step_id, step.run_id
                )
                return previous
            outcome: Outcome | None = None
            if previous is not None:
                outcome = await self._adopt(step, previous, control, cause_id)
            if outcome is None:
                outcome = await self._execute(step, attempt, previous, control, cause_id)
            await asyncio.to_thread(attempt.finish, outcome)
            return outcome

    async def _execute(
        self,
        step: StepReady,
        attempt: Attempt,
        previous: Execution | None,
        control: StepControl,
        cause_id: str,
    ) -> Outcome:
        refused = None if runs_in_pods(self.backend) else self.placement.check(step)
        if refused is not None:
            return Outcome(status="failed", reason=refused)
        with self.tracer.start_as_current_span(
            f"queue {step.task_name}", attributes={"headrace.run_id": step.run_id}
        ):  # waiting for this machine's slots and resources
            admitted = await self._wait_until(step, control)
        if not admitted:
            return Outcome(status="cancelled", reason=control.cancel_reason or "cancelled")
        execution = await asyncio.to_thread(attempt.next_execution, previous)
        try:
            return await self._execute_in(step, execution, control, cause_id)
        except BaseException:
            execution.abandon()  # killed on the way out: a later delivery runs it again
            raise

    async def _execute_in(
        self, step: StepReady, execution: Execution, control: StepControl, cause_id: str
    ) -> Outcome:
        """`execute` the step in ``execution`` as a gang on the backend, with its notices
        at the top of its log and the runner of its Python environment (see ``envs/``); on
        a backend that runs the executor in a pod, that pod (`podstep`)."""
        if runs_in_pods(self.backend):

            async def announce(pid: int) -> None:
                await self._started(step, cause_id, pid, [])

            return await run_in_pod(
                step,
                self.backend,
                self.store,
                control,
                execution=execution.number,
                on_start=announce,
            )
        log_path = execution.folder / LOG_FILE
        notices = self.placement.notices(step)
        _write_notices(log_path, notices)
        gang = gang_id(step)

        async def started(pid: int) -> None:
            state = self._state(gang)
            more = self.placement.limit_notices(step, state) if state is not None else []
            _write_notices(log_path, more)
            await self._started(step, cause_id, pid, [*notices, *more])

        async def run_with(runner: Runner) -> Outcome:
            gang_runner = GangRunner(
                self.backend,
                gang,
                attempt=execution.number,
                resources=self.placement.resources(step),
                records=execution.folder,
                runner=runner,
                control=control,
            )
            outcome = await execute(
                step,
                self.store,
                execution.workdir,
                gang_runner,
                control=control,
                on_start=started,
                on_plan=execution.keep_plan,
                log_path=log_path,
                tracer=self.tracer,
            )
            return self.placement.finish(step, outcome, self._state(gang))

        if self.environments is None:
            return await run_with(self.runner)
        try:
            async with self.environments.runner_for(step, self.runner, control, log_path) as runner:
                return await run_with(runner)
        except EnvironmentFailed as error:
            return Outcome(status="failed", reason=f"step '{step.task_name}': {error}")

    def _state(self, gang: str) -> ReplicaState | None:
        """The step's replica as the backend last saw it; None before it started."""
        try:
            states = self.backend.states(gang)
        except UnknownGang:
            return None
        return states[0] if states else None

    async def _adopt(
        self, step: StepReady, execution: Execution, control: StepControl, cause_id: str
    ) -> Outcome | None:
        """Follow ``execution``, started by a trainer gone since, to its outcome; None when
        its process is gone without a record (the step then runs again)."""
        gang = gang_id(step)
        if runs_in_pods(self.backend):
            return await self._adopt_pod(step, control, cause_id)
        handle = await self.backend.adopt(gang, records=execution.folder)
        if handle is None:
            await asyncio.to_thread(_end_unrecorded, execution)
        state = handle.replicas[0] if handle is not None and handle.replicas else None
        if state is None or (state.phase.final and state.exit_code is None):
            log.info(
                "step %s of run %s: execution %d is gone without a recorded exit; running it again",
                step.step_id,
                step.run_id,
                execution.number,
            )
            return None
        plan = await asyncio.to_thread(execution.plan)
        if plan is None:
            log.warning(
                "step %s: execution %d has no usable plan; running it again",
                step.step_id,
                execution.number,
            )
            await self.backend.stop(gang, grace=0)
            return None
        log.info(
            "step %s of run %s: adopting execution %d (pid %s, %s)",
            step.step_id,
            step.run_id,
            execution.number,
            state.pid,
            state.phase,
        )
        ran = max(time.time() - (state.started_at or time.time()), 0.0)
        running = GangProcess(self.backend, gang, state.pid or 0, adopted=True)

        async def started(pid: int) -> None:
            await self._started(step, cause_id, pid, [])

        try:
            if state.phase.final:
                # Taken as it ended (no timeout applies), and never stopped.
                ended = StepControl()
                ended.exited()
                return await follow(
                    step, self.store, plan, running, ended, begun=time.monotonic() - ran
                )
            return await follow(
                step,
                self.store,
                plan,
                running,
                control,
                begun=time.monotonic() - ran,
                ran=ran,  # its timeout counts from its real start
                on_start=started,
            )
        except StepLost as error:
            log.info("step %s of run %s: %s; running it again", step.step_id, step.run_id, error)
            return None
        except BaseException:
            execution.abandon()  # killed on the way out: a later delivery runs it again
            raise

    async def _adopt_pod(
        self, step: StepReady, control: StepControl, cause_id: str
    ) -> Outcome | None:
        """Follow the pod a trainer gone since started for ``step``; None when there is
        none (the step then runs again)."""
        handle = await self.backend.adopt(gang_id(step))
        if handle is None:
            return None
        log.info("step %s of run %s: adopting its pod", step.step_id, step.run_id)

        async def announce(pid: int) -> None:
            await self._started(step, cause_id, pid, [])

        return await follow_pod(
            step, self.backend, self.store, control, begun=time.monotonic(), on_start=announce
        )

    async def _started(self, step: StepReady, cause_id: str, pid: int, notices: list[str]) -> None:
        message = StepStarted(
            run_id=step.run_id,
            step_id=step.step_id,
            attempt=step.attempt,
            backend=self.backend.name,
            worker=self.worker,
            notices=notices,
            log_uri=self.store.uri_for(log_key(step.run_id, step.step_id, step.attempt)),
        )
        event_id = derive_event_id(cause_id, self._service, message.ce_type(), "started")
        try:
            await self._announce(message, event_id)
        except Exception:
            # The step runs anyway: StepStarted is informative, its outcome is what counts.
            log.exception("step %s (pid %d): StepStarted could not be published", step.step_id, pid)

    async def _wait_until(self, step: StepReady, control: StepControl) -> bool:
        """Sleep until ``not_before``; False when the step is cancelled meanwhile."""
        delay = _seconds_until(step.not_before)
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(control.cancelled.wait(), delay)
        return not control.cancelled.is_set()

    # cancelled steps -------------------------------------------------------------------

    def _remember(self, key: StepKey, reason: str) -> None:
        now = time.monotonic()
        self._cancelled = {k: v for k, v in self._cancelled.items() if v[1] > now}
        self._cancelled[key] = (reason, now + self.config.cancel_memory_seconds)

    def _cancel_reason(self, key: StepKey) -> str | None:
        found = self._cancelled.get(key)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]


def _placement(config: TrainerSettings) -> Placement:
    return Placement(detect_machine(config), probe(config.cgroup))


def _end_unrecorded(execution: Execution) -> None:
    """An execution with no gang record never started (its trainer died waiting for its
    resources), or was started by a trainer from before steps ran on the backend: end the
    latter's process, which nothing could follow, before the step runs again."""
    found = execution.judge()  # one that never started is voided: it never will
    if found.state == "running":
        log.warning(
            "execution %s (pid %d) has no gang record; ending it", execution.folder, found.pid
        )
        kill_group(found.pid, signal.SIGKILL)


def _write_notices(log_path: Path, notices: list[str]) -> None:
    """Append the step's notices to its log (the process appends after them)."""
    if notices:
        with log_path.open("a", encoding="utf-8") as file:
            file.writelines(f"{NOTICE_PREFIX}{notice}\n" for notice in notices)


def _seconds_until(not_before: str) -> float:
    if not not_before:
        return 0.0
    try:
        moment = datetime.fromisoformat(not_before)
    except ValueError:
        log.warning("not_before %r is not an ISO 8601 time; starting the step now", not_before)
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()
