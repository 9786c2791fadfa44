"""One training job's controller: a task that drives the job's gang on the backend.

It never runs inside a handler's transaction. Handlers record what was asked (the row's
``request``) and wake it (`JobController.poke`); the controller then, in a loop:

* carries out the row's request (``delete``, ``suspend``, ``resume``) through the policy;
* starts the gang of the current attempt when the job is active and none runs (after the
  restart backoff): a rendezvous, `build_gang` for each replica, ``backend.start``;
* feeds the policy what the backend reports (every replica started; a replica exited), and
  the ``activeDeadlineSeconds`` timer; carries out its decisions (stop the gang, start the
  next attempt, succeed, fail) and persists each change with its lifecycle event;
* follows the coordinating replica's log for metrics (`metrics`);
* after the job ended, removes its record when ``ttlSecondsAfterFinished`` has passed.

At service start a controller adopts the gang of an active job (``backend.adopt``) instead
of starting it again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import Tracer

from headrace_artifacts import ArtifactStore, ArtifactStoreError
from headrace_contracts import (
    ArtifactRef,
    ArtifactWritten,
    JobCondition,
    Message,
    MetricReported,
    ReplicaStatus,
    TrainingJobCancelled,
    TrainingJobFailed,
    TrainingJobRestarting,
    TrainingJobResumed,
    TrainingJobRunning,
    TrainingJobSucceeded,
    TrainingJobSuspended,
)
from headrace_contracts.kubeflow import ManifestError, TrainingJobSpec, parse_training_job

from ..backends.base import Gang, GangEvent, GangHandle, WorkloadBackend
from ..backends.base import Phase as ReplicaPhase
from ..errors import GangStopped, UnknownGang, WorkloadError
from .codec import decode_state, encode_state
from .conditions import COMMAND_FAILED
from .distributed import master_of
from .launch import build_gang
from .ledger import JobLedger
from .metrics import MetricGate, metric_options, parse_metric_formats, parse_metric_line
from .policy import (
    Backoff,
    DeadlinePassed,
    Decision,
    Deleted,
    Fail,
    GangPolicy,
    GangStarted,
    JobEvent,
    JobState,
    Phase,
    ReplicaExited,
    Resume,
    StartFailed,
    StartGang,
    StopGang,
    Succeed,
    Suspend,
)
from .store import JobRows, TrainingJobRow
from .tracing import ReplicaSpans

__all__ = ["ControllerDeps", "JobController"]

log = logging.getLogger("headrace.trainer.jobs")
TAIL_LINES = 20
FIRST_LOAD_SECONDS = 5.0
METRICS_DRAIN_SECONDS = 5.0


@dataclass
class ControllerDeps:
    backend: WorkloadBackend
    rows: JobRows
    ledger: JobLedger
    store: ArtifactStore
    jobs_root: Path
    python_bin: str
    path: str
    backoff: Backoff
    metric_interval: float = 1.0
    stop_grace: float = 10.0
    tracer: Tracer = field(default_factory=trace.NoOpTracer)
    """Each replica is a span of the job's trace (`ReplicaSpans`)."""


class _Poke:
    pass


POKE = _Poke()


class JobController:
    def __init__(self, job_id: str, deps: ControllerDeps) -> None:
        self.job_id = job_id
        self.deps = deps
        self.inbox: asyncio.Queue[GangEvent | _Poke] = asyncio.Queue()
        self._pumps: list[asyncio.Task[None]] = []
        self._metrics: asyncio.Task[None] | None = None
        self._live = False
        self._row: TrainingJobRow | None = None
        self._job: TrainingJobSpec | None = None
        self._policy: GangPolicy | None = None
        self._state = JobState()
        self._replicas: dict[str, dict[str, object]] = {}
        self._gate = MetricGate(interval=deps.metric_interval)
        self._formats: tuple[re.Pattern[str], ...] = ()
        self._spans = ReplicaSpans(deps.tracer, job_id)

    def poke(self) -> None:
        self.inbox.put_nowait(POKE)

    def command_failed(self, condition: JobCondition | None) -> None:
        """Keep ``condition`` (type ``CommandFailed``, written to the row by the give-up hook)
        among the conditions this controller writes, or drop the one kept (None)."""
        kept = tuple(c for c in self._state.conditions if c.type != COMMAND_FAILED)
        extra = (condition,) if condition is not None else ()
        self._state = replace(self._state, conditions=(*kept, *extra))

    # the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if await self._first_load():
                await self._drive()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the controller of training job %s stopped", self.job_id)
        finally:
            self._spans.end_all("the trainer stopped following the job")
            await self._stop_pumps()

    async def _first_load(self) -> bool:
        """Load the row; the handler that woke this controller commits it a moment later."""
        deadline = time.monotonic() + FIRST_LOAD_SECONDS
        while (row := await asyncio.to_thread(self.deps.rows.get, self.job_id)) is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        try:
            job = parse_training_job(row.manifest)
        except ManifestError:
            if row.request == "delete":
                await asyncio.to_thread(self.deps.rows.remove, self.job_id)
            return False  # recorded FAILED by its handler
        self._row, self._job = row, job
        self._policy = GangPolicy(job, self.deps.backoff)
        self._state = decode_state(row.state)
        self._replicas = {f"{r['role']}-{r['index']}": dict(r) for r in row.replicas}
        self._gate.latest.update(row.metrics)
        self._formats, interval = metric_options(row.manifest)
        if interval is not None:
            self._gate.interval = interval
        return True

    async def _drive(self) -> None:
        await self._recover()
        while True:
            row = await asyncio.to_thread(self.deps.rows.get, self.job_id)
            if row is None:
                await self._forget()
                return
            self._row = row
            if row.request:
                await self._requested(row.request)
                continue
            phase = self._state.phase
            if phase.final:
                if row.expires_at is None:
                    return
                if await self._wait(_seconds_until(row.expires_at)):
                    continue
                log.info("training job %s expired (ttlSecondsAfterFinished)", self.job_id)
                await self._forget()
                await asyncio.to_thread(self.deps.rows.remove, self.job_id)
                return
            if phase == Phase.SUSPENDED:
                return
            if not self._live:
                wait = _seconds_until(row.not_before) if row.not_before else 0.0
                if wait > 0 and await self._wait(wait):
                    continue
                await self._start_gang()
                continue
            deadline = self._state.deadline(self._spec.run_policy.active_deadline_seconds)
            timeout = _seconds_until(deadline) if deadline is not None else None
            try:
                item = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                await self._decide(DeadlinePassed())
                continue
            if isinstance(item, GangEvent):
                await self._gang_event(item)

    async def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; True when poked meanwhile (gang events wait in the inbox)."""
        if seconds <= 0:
            return False
        end = time.monotonic() + seconds
        held: list[GangEvent] = []
        try:
            while (left := end - time.monotonic()) > 0:
                try:
                    item = await asyncio.wait_for(self.inbox.get(), left)
                except TimeoutError:
                    return False
                if isinstance(item, _Poke):
                    return True
                held.append(item)
            return False
        finally:
            for event in held:
                self.inbox.put_nowait(event)

    # requests --------------------------------------------------------------------------

    async def _requested(self, request: str) -> None:
        asked: dict[str, JobEvent] = {"delete": Deleted(), "suspend": Suspend(), "resume": Resume()}
        event = asked.get(request)
        await asyncio.to_thread(self.deps.rows.clear_request, self.job_id, request)
        if event is None:
            return
        if isinstance(event, Deleted) and self._state.phase.final:
            await self._delete()
            return
        await self._decide(event)

    async def _delete(self) -> None:
        await self._forget()
        await asyncio.to_thread(self.deps.rows.remove, self.job_id)
        log.info("training job %s deleted", self.job_id)

    async def _forget(self) -> None:
        """Nothing of the job runs any more, and the backend forgets it."""
        await self._stop_gang("the job is deleted")
        with contextlib.suppress(WorkloadError):
            await self.deps.backend.remove(self.job_id)

    # the gang --------------------------------------------------------------------------

    async def _recover(self) -> None:
        """At (re)start: follow the gang of the current attempt if one was started."""
        if not self._state.phase.active:
            return
        expected = self._state.attempt + 1
        handle = await self.deps.backend.adopt(self.job_id)
        if handle is None:
            if self._state.phase == Phase.RUNNING:
                role, index = master_of(self._spec)
                log.warning("training job %s: its gang is gone unrecorded", self.job_id)
                await self._decide(ReplicaExited(role, index, -9, self._state.attempt))
            return
        if handle.attempt != expected:
            await self._stop_gang("an older attempt")
            return
        log.info("training job %s: adopted its gang (attempt %d)", self.job_id, handle.attempt)
        self._live = True
        self._follow()
        if self._state.phase != Phase.RUNNING and all(s.pid for s in handle.replicas):
            await self._decide(GangStarted(self._state.attempt))

    async def _start_gang(self) -> None:
        job, row = self._spec, self._row
        assert row is not None
        attempt = self._state.attempt + 1
        folder = self._folder
        try:
            rendezvous = await self.deps.backend.rendezvous(self.job_id, ports=job.total_replicas)
            gang = build_gang(
                job,
                gang_id=self.job_id,
                uid=row.uid,
                attempt=attempt,
                rendezvous=rendezvous,
                base=Path(row.working_dir) if row.working_dir else None,
                job_folder=folder,
                python_bin=self.deps.python_bin,
                path=self.deps.path,
            )
            # NULL for a job an earlier release stored (it had no trace context then)
            gang = self._spans.start(gang, row.trace_context or {})
            await asyncio.to_thread((folder / "output").mkdir, parents=True, exist_ok=True)
            types = {group.role: group.replica_type for group in job.replicas}
            self._replicas = {
                launch.name: {
                    "role": launch.role,
                    "index": launch.index,
                    "replica_type": types.get(launch.role, launch.role),  # type: ignore[call-overload]
                    "state": "Pending",
                    "exit_code": None,
                    "attempt": attempt,
                    "log_uri": self.deps.store.uri_for(launch.log_key),
                }
                for launch in gang.replicas
            }
            self._live = True
            handle = await self._started(gang)
        except GangStopped:
            self._live = False
            self._spans.end_all("stopped while it waited for resources")
            return
        except WorkloadError as error:
            self._live = False
            self._spans.end_all(f"the gang did not start: {error}")
            await self._decide(StartFailed(str(error)))
            return
        for state in handle.replicas:
            self._set_replica(state.name, state.phase.value, state.exit_code)
        self._follow()
        await self._decide(GangStarted(self._state.attempt))

    async def _started(self, gang: Gang) -> GangHandle:
        """``backend.start(gang)``; a delete or suspend asked while the gang waits for its
        resources (GPUs another job holds) stops the wait (`GangStopped`)."""
        starting = asyncio.ensure_future(self.deps.backend.start(gang))
        try:
            while True:
                poked = asyncio.ensure_future(self.inbox.get())
                done, _ = await asyncio.wait({starting, poked}, return_when=asyncio.FIRST_COMPLETED)
                if starting in done:
                    if poked.done():
                        self.inbox.put_nowait(poked.result())
                    else:
                        poked.cancel()
                    return starting.result()
                row = await asyncio.to_thread(self.deps.rows.get, self.job_id)
                if row is None or row.request in ("delete", "suspend"):
                    await self.deps.backend.stop(self.job_id, grace=self.deps.stop_grace)
        except BaseException:
            if not starting.done():
                starting.cancel()
            raise

    def _follow(self) -> None:
        self._pumps.append(asyncio.create_task(self._pump_events(), name=f"job-{self.job_id}"))
        self._metrics = asyncio.create_task(self._pump_metrics(), name=f"job-{self.job_id}-m")

    async def _pump_events(self) -> None:
        async for event in self.deps.backend.events(self.job_id):
            self.inbox.put_nowait(event)

    async def _stop_gang(self, reason: str) -> None:
        try:
            await self._stop_replicas(reason)
        finally:
            await self._stop_pumps(drain=True)

    async def _stop_replicas(self, reason: str) -> None:
        for task in self._pumps:
            task.cancel()  # the events of a stopped attempt do not matter
        if not self._live:
            with contextlib.suppress(UnknownGang):
                states = self.deps.backend.states(self.job_id)
                if all(s.phase.final for s in states):
                    return
        self._live = False
        with contextlib.suppress(UnknownGang):
            await self.deps.backend.stop(self.job_id, grace=self.deps.stop_grace)
            for state in self.deps.backend.states(self.job_id):
                self._set_replica(state.name, state.phase.value, state.exit_code)
                if state.phase.final:
                    self._spans.ended(state.name, _exit_code(state.phase, state.exit_code))
        self._spans.end_all(reason)
        log.info("training job %s: gang stopped (%s)", self.job_id, reason)

    async def _stop_pumps(self, *, drain: bool = False) -> None:
        """Stop following the gang. With ``drain``, its metrics are first read to the end of
        the log (which ends once every replica has, as after a stop), for a few seconds."""
        metrics, self._metrics = self._metrics, None
        if metrics is not None:
            if drain:
                with contextlib.suppress(TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(metrics), METRICS_DRAIN_SECONDS)
            self._pumps.append(metrics)
        pumps, self._pumps = self._pumps, []
        for task in pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _gang_event(self, event: GangEvent) -> None:
        if event.attempt != self._state.attempt + 1:
            return
        replica = event.replica
        self._set_replica(replica.name, replica.phase.value, replica.exit_code)
        if not replica.phase.final:
            await self.deps.ledger.commit(self.job_id, {"replicas": self._replica_rows()})
            return
        code = _exit_code(replica.phase, replica.exit_code)
        self._spans.ended(replica.name, code)
        role = self._spec.group(replica.role)  # type: ignore[arg-type]
        if role is None:
            return
        await self._decide(ReplicaExited(role.role, replica.index, code, self._state.attempt))

    # decisions -------------------------------------------------------------------------

    async def _decide(self, event: JobEvent) -> None:
        assert self._policy is not None
        before = self._state
        decision = self._policy.on(before, event, _now())
        if decision.state == before and not decision.actions:
            return
        await self._carry_out(before, decision, event)

    async def _carry_out(self, before: JobState, decision: Decision, event: JobEvent) -> None:
        self._state = state = decision.state
        changes: dict[str, object] = {}
        events: list[Message] = []
        failure: Fail | None = None
        for action in decision.actions:
            if isinstance(action, StopGang):
                await self._stop_gang(action.reason)
            elif isinstance(action, StartGang):
                self._live = False
                changes["not_before"] = _now() + timedelta(seconds=action.delay_seconds)
            elif isinstance(action, Succeed):
                changes.update(await self._store_output(events))
            else:
                failure = action
        now = _now()
        changes.update(
            state=encode_state(state), phase=state.phase.value, replicas=self._replica_rows()
        )
        if state.started_at is not None and before.started_at is None:
            changes["started_at"] = state.started_at
        conditions = list(state.conditions)
        statuses = self._policy_statuses(state)
        job_id = self.job_id
        if state.phase == Phase.RUNNING and before.phase != Phase.RUNNING:
            events.append(
                TrainingJobRunning(
                    job_id=job_id,
                    attempt=state.restarts,
                    conditions=conditions,
                    replica_statuses=statuses,
                )
            )
        elif state.phase == Phase.RESTARTING and isinstance(event, ReplicaExited):
            name = f"{event.role}-{event.index}"
            exits = {**before.exits, (event.role, event.index): event.exit_code}
            seen = replace(before, exits=exits)
            events.append(
                TrainingJobRestarting(
                    job_id=job_id,
                    attempt=state.restarts,
                    reason=state.conditions[-1].message,
                    replica=name,
                    exit_code=_container_code(event.exit_code),
                    conditions=conditions,
                    replica_statuses=self._policy_statuses(seen),
                )
            )
        elif state.phase == Phase.SUSPENDED and before.phase != Phase.SUSPENDED:
            events.append(TrainingJobSuspended(job_id=job_id, conditions=conditions))
        elif before.phase == Phase.SUSPENDED and state.phase == Phase.CREATED:
            events.append(TrainingJobResumed(job_id=job_id, conditions=conditions))
        elif state.phase == Phase.SUCCEEDED and not before.phase.final:
            started = state.started_at or now
            events.append(
                TrainingJobSucceeded(
                    job_id=job_id,
                    duration_seconds=(now - started).total_seconds(),
                    conditions=conditions,
                    replica_statuses=statuses,
                )
            )
        elif state.phase == Phase.FAILED and not before.phase.final and failure is not None:
            tail = await self._tail(failure.replica) if failure.replica else ""
            changes.update(reason=failure.reason, exit_code=failure.exit_code, log_tail=tail)
            events.append(
                TrainingJobFailed(
                    job_id=job_id,
                    reason=f"{failure.reason}: {failure.message}",
                    replica=failure.replica,
                    exit_code=failure.exit_code,
                    log_tail=tail,
                    conditions=conditions,
                    replica_statuses=statuses,
                )
            )
        elif state.phase == Phase.CANCELLED and not before.phase.final:
            reason = event.reason if isinstance(event, Deleted) else ""
            events.append(
                TrainingJobCancelled(
                    job_id=job_id, reason=reason, conditions=conditions, replica_statuses=statuses
                )
            )
        if state.phase.final and not before.phase.final:
            changes["finished_at"] = now
            ttl = self._spec.run_policy.ttl_seconds_after_finished
            if ttl is not None:
                changes["expires_at"] = now + timedelta(seconds=ttl)
        await self.deps.ledger.commit(self.job_id, changes, events)
        if state.phase == Phase.CANCELLED:
            await self._delete()  # Kubeflow: a deleted job is gone

    def _policy_statuses(self, state: JobState) -> dict[str, ReplicaStatus]:
        assert self._policy is not None
        return self._policy.replica_statuses(state)

    # outputs, logs, metrics ------------------------------------------------------------

    async def _store_output(self, events: list[Message]) -> dict[str, object]:
        output = self._folder / "output"
        has_files = await asyncio.to_thread(lambda: output.is_dir() and any(output.iterdir()))
        if not has_files:
            return {}
        row = self._row
        assert row is not None
        key = f"training-jobs/{self._spec.namespace}/{self._spec.name}/{row.uid}/output"
        try:
            info = await asyncio.to_thread(self.deps.store.put_dir, output, key)
        except (ArtifactStoreError, OSError) as error:
            log.warning("training job %s: its output could not be stored: %s", self.job_id, error)
            return {}
        ref = ArtifactRef(
            uri=info.uri,
            name="output",
            digest=f"sha256:{info.sha256}",
            size=info.size,
            is_dir=True,
        )
        events.append(ArtifactWritten(artifact=ref, output_name="output", producer=self.job_id))
        return {"output_uri": info.uri}

    async def _tail(self, replica: str) -> str:
        role, _, index = replica.rpartition("-")
        lines: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        try:
            async for line in self.deps.backend.logs(self.job_id, role, int(index)):
                lines.append(line)
        except (WorkloadError, ArtifactStoreError, OSError, ValueError) as error:
            return f"(no log: {error})"
        return "\n".join(lines)

    async def _pump_metrics(self) -> None:
        role, index = master_of(self._spec)
        try:
            lines = self.deps.backend.logs(self.job_id, role, index, follow=True)
            async for line in lines:
                if self._formats:
                    found = parse_metric_formats(line, self._formats)
                else:
                    found = parse_metric_line(line)
                if found is not None:
                    await self._report(self._gate.offer(found, time.monotonic()))
        except WorkloadError as error:
            log.warning("training job %s: no metrics from its log: %s", self.job_id, error)
        await self._report(self._gate.flush())

    async def _report(self, due: list[tuple[str, float, int | None]]) -> None:
        if not due:
            return
        events: list[Message] = [
            MetricReported(metric=name, value=value, job_id=self.job_id, step=step)
            for name, value, step in due
        ]
        await self.deps.ledger.commit(self.job_id, {"metrics": dict(self._gate.latest)}, events)

    # helpers ---------------------------------------------------------------------------

    @property
    def _spec(self) -> TrainingJobSpec:
        assert self._job is not None
        return self._job

    @property
    def _folder(self) -> Path:
        row = self._row
        assert row is not None
        return self.deps.jobs_root / self._spec.namespace / self._spec.name / row.uid

    def _set_replica(self, name: str, phase: str, exit_code: int | None) -> None:
        found = self._replicas.get(name)
        if found is not None:
            found["state"] = phase
            found["exit_code"] = _container_code(exit_code) if exit_code is not None else None

    def _replica_rows(self) -> list[dict[str, object]]:
        return [dict(r) for r in self._replicas.values()]


def new_uid() -> str:
    return uuid.uuid4().hex[:12]


def _now() -> datetime:
    return datetime.now(UTC)


def _seconds_until(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _now()).total_seconds()


def _exit_code(phase: ReplicaPhase, exit_code: int | None) -> int:
    """A final replica's exit code: 0 when it succeeded, -9 when none was seen."""
    if phase == ReplicaPhase.SUCCEEDED:
        return 0
    return exit_code if exit_code is not None else -9


def _container_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode
