"""The scheduler's message handlers: load a run, apply one event to its machine, save, publish.

Everything here is I/O around :class:`RunMachine`: the run row (optimistic locking), the
step cache, the artifact store (a cached artifact that is gone is a miss) and the outbox.

Every message here belongs to a run, and none may leave its run hanging: when the bus gives
up on one (an error that is not retryable, or retries used up), :meth:`Scheduler.given_up`
runs in a transaction of its own and ends the run visibly: a ``SubmitRun`` that never made
a run is ``REJECTED`` with the error (``RunRejected``); any other message fails its step
and its run with the error (``RunFailed``). Only a message about no known run is left to
the dead-letter stream alone.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from headrace_artifacts import ArtifactStore
from headrace_bus import DeadLetter
from headrace_contracts import (
    CancelRun,
    CancelStep,
    ResolvedModel,
    RunCancelled,
    RunDetail,
    RunFailed,
    RunRejected,
    RunStarted,
    RunSucceeded,
    StepCached,
    StepCancelled,
    StepFailed,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    SubmitRun,
)
from headrace_contracts.common import ArtifactRef
from headrace_pipelines import (
    Plan,
    SpecError,
    bind_arguments,
    compile_plan,
    load_pipeline,
    pack_pipeline,
)
from headrace_runtime import HandlerContext

from . import store
from .abort import abort_run
from .effects import Effect, Finished, Launch, Skipped, Stop
from .input_artifacts import ResolveModel, bind_inputs, resolve_models
from .machine import RunMachine
from .state import RunState
from .steps import cache_key, step_ready
from .views import run_view

log = logging.getLogger("headrace.scheduler")

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LOG_HINT = " (the scheduler's log has the details)"


class Scheduler:
    """Handlers and query answers of the scheduler, over one engine and artifact store."""

    def __init__(
        self,
        store_factory: Callable[[], ArtifactStore],
        *,
        engine: Callable[[], Any],
        resolve_model: ResolveModel | None = None,
        cancel_grace: float = 10.0,
        plan_cache_size: int = 256,
    ) -> None:
        self._store_factory = store_factory
        self._resolve_model = resolve_model or _no_registry
        self._artifacts: ArtifactStore | None = None
        self._engine = engine
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._plan_cache_size = plan_cache_size
        self._cancel_grace = cancel_grace
        self._states = store.StateCache()

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            self._artifacts = self._store_factory()
        return self._artifacts

    # commands --------------------------------------------------------------------------

    async def submit(self, msg: SubmitRun, ctx: HandlerContext[Any]) -> None:
        session = ctx.session
        if store.exists(session, msg.run_id):
            log.info("run %s already submitted; ignoring the repeat", msg.run_id)
            return
        now = _now()
        run = RunState(
            run_id=msg.run_id,
            display_name=msg.display_name,
            experiment=msg.experiment,
            enable_caching=msg.enable_caching,
            allow_host_containers=msg.allow_host_containers,
            created_at=now.isoformat(),
        )
        try:
            if not RUN_ID.match(msg.run_id):
                raise SpecError(
                    f"run id {msg.run_id!r} must be 1-128 letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit",
                    field="run_id",
                )
            plan = compile_plan(msg.pipeline_spec, msg.platform_spec)
            run.arguments = bind_arguments(plan, dict(msg.arguments))
            models = await resolve_models(plan, dict(msg.arguments), self._resolve_model)
            run.input_artifacts = bind_inputs(plan, dict(msg.arguments), self.artifacts, models)
            run.pipeline_name = plan.name
        except SpecError as exc:
            self._reject(ctx, msg, run, str(exc), now)
            return
        session.add(self._new_row(run, pack_pipeline(msg.pipeline_spec, msg.platform_spec), now))
        session.flush()
        self._remember_plan(msg.run_id, plan)
        machine = RunMachine(run, plan, now)
        effects = machine.start()
        ctx.publish(
            RunStarted(run_id=run.run_id, pipeline_name=plan.name, step_count=plan.step_count())
        )
        self._carry_out(ctx, store.Stored(run.run_id, 0), run, plan, machine, effects)

    async def cancel(self, msg: CancelRun, ctx: HandlerContext[Any]) -> None:
        self._apply(ctx, msg.run_id, lambda m: m.cancel(msg.reason or "cancelled by user"))

    # step events -----------------------------------------------------------------------

    async def started(self, msg: StepStarted, ctx: HandlerContext[Any]) -> None:
        self._apply(ctx, msg.run_id, lambda m: m.step_started(msg.step_id, msg.attempt, msg.worker))

    async def succeeded(self, msg: StepSucceeded, ctx: HandlerContext[Any]) -> None:
        outputs = {
            k: [a.model_dump(mode="json") for a in v] for k, v in msg.output_artifacts.items()
        }

        def apply(machine: RunMachine) -> list[Effect]:
            node = machine.run.nodes.get(msg.step_id)
            key = node.cache_key if node is not None and node.attempt == msg.attempt else ""
            effects = machine.step_succeeded(
                msg.step_id,
                msg.attempt,
                dict(msg.output_parameters),
                outputs,
                log_uri=msg.log_uri,
                duration=msg.duration_seconds,
                worker=msg.worker,
            )
            if key and node is not None and node.state == "SUCCEEDED":
                store.remember(
                    ctx.session,
                    key,
                    msg.run_id,
                    msg.step_id,
                    {"parameters": dict(msg.output_parameters), "artifacts": outputs},
                    machine.now,
                )
            return effects

        self._apply(ctx, msg.run_id, apply)

    async def failed(self, msg: StepFailed, ctx: HandlerContext[Any]) -> None:
        reason = msg.reason
        self._apply(
            ctx,
            msg.run_id,
            lambda m: m.step_failed(
                msg.step_id,
                msg.attempt,
                reason,
                exit_code=msg.exit_code,
                log_uri=msg.log_uri,
                worker=msg.worker,
            ),
        )

    async def cancelled(self, msg: StepCancelled, ctx: HandlerContext[Any]) -> None:
        self._apply(ctx, msg.run_id, lambda m: m.step_cancelled(msg.step_id, 0, msg.reason))

    # giving up ------------------------------------------------------------------------

    async def given_up(self, msg: Any, ctx: HandlerContext[Any], dead: DeadLetter) -> None:
        """End the run ``msg`` belongs to, now that the bus gives up on ``msg``."""
        step_id: str = getattr(msg, "step_id", "")
        if isinstance(msg, SubmitRun) and not store.exists(ctx.session, msg.run_id):
            now = _now()
            run = RunState(
                run_id=msg.run_id,
                display_name=msg.display_name,
                experiment=msg.experiment,
                enable_caching=msg.enable_caching,
                allow_host_containers=msg.allow_host_containers,
                created_at=now.isoformat(),
            )
            reason = f"the scheduler could not start the run: {_summary(dead)}{LOG_HINT}"
            self._reject(ctx, msg, run, reason, now)
            return
        about = f" of step {step_id!r}" if step_id else ""
        error = f"the scheduler could not handle {type(msg).__name__}{about}: {_summary(dead)}"
        self._fail(ctx, msg.run_id, error + LOG_HINT, step_id=step_id)

    def _fail(self, ctx: HandlerContext[Any], run_id: str, error: str, *, step_id: str) -> None:
        self._states.drop(run_id)
        found = store.salvage(ctx.session, run_id)
        if found is None:
            log.warning("%s for unknown run %s: only dead-lettered", ctx.envelope.type, run_id)
            return
        stored, run, problem = found
        if problem:  # a stored state that no longer parses: fail what the row still says
            error += f"; its stored state could not be read either ({problem})"
        if run.finished:
            log.info("run %s has already ended (%s); nothing to fail", run_id, run.state)
            return
        stopping = abort_run(run, error, step_id=step_id, now=_now().isoformat())
        for node_id in stopping:
            ctx.publish(
                CancelStep(
                    run_id=run_id, step_id=node_id, grace_seconds=self._cancel_grace, reason=error
                ),
                key=f"give-up:{node_id}",
            )
        ctx.publish(RunFailed(run_id=run_id, reason=error, failed_steps=run.failed_steps))
        store.save(ctx.session, stored, run)
        log.error("run %s failed: %s", run_id, error)

    # queries ---------------------------------------------------------------------------

    def get_run(self, run_id: str, *, steps: bool = True) -> RunDetail:
        """The run as committed (with its steps, or without: then its nodes are not even
        read), apart from the handlers' cached states, so that it can be answered in a
        thread of its own while events are handled (a stored state that no longer parses
        shows what its row and the nodes that still parse say)."""
        with Session(self._engine()) as session:
            found = store.salvage(session, run_id, nodes=steps)
        if found is None:
            return RunDetail(run=None)
        run = found[1]
        if not steps:
            run.nodes = {}  # a run saved whole, before nodes had rows, still has them
        return RunDetail(run=run_view(run))

    # machinery -------------------------------------------------------------------------

    def _apply(
        self,
        ctx: HandlerContext[Any],
        run_id: str,
        change: Callable[[RunMachine], list[Effect]],
    ) -> None:
        found = store.load(ctx.session, run_id, self._states)
        if found is None:
            log.warning("%s for unknown run %s; ignoring", ctx.envelope.type, run_id)
            return
        stored, run = found
        if run.finished:
            return
        try:
            plan = self._plan(ctx.session, run_id)
            machine = RunMachine(run, plan, _now())
            effects = change(machine)
            self._carry_out(ctx, stored, run, plan, machine, effects)
        except BaseException:
            self._states.drop(run_id)  # the cached state may be half-changed
            raise

    def _carry_out(
        self,
        ctx: HandlerContext[Any],
        stored: store.Stored,
        run: RunState,
        plan: Plan,
        machine: RunMachine,
        effects: list[Effect],
    ) -> None:
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            if isinstance(effect, Launch):
                queue.extend(self._launch(ctx, run, plan, machine, effect.node_id))
            elif isinstance(effect, Stop):
                node = run.nodes[effect.node_id]
                ctx.publish(
                    CancelStep(
                        run_id=run.run_id,
                        step_id=node.id,
                        grace_seconds=self._cancel_grace,
                        reason=effect.reason,
                    ),
                    key=f"{node.id}#{node.attempt}",
                )
            elif isinstance(effect, Skipped):
                ctx.publish(
                    StepSkipped(
                        run_id=run.run_id,
                        step_id=effect.node_id,
                        reason=effect.reason,
                        kind=run.nodes[effect.node_id].kind,
                    ),
                    key=effect.node_id,
                )
            elif isinstance(effect, Finished):
                ctx.publish(self._finished(run, effect))
        store.save(ctx.session, stored, run, self._states)

    def _launch(
        self,
        ctx: HandlerContext[Any],
        run: RunState,
        plan: Plan,
        machine: RunMachine,
        node_id: str,
    ) -> list[Effect]:
        node = run.nodes[node_id]
        scope = run.nodes[node.scope]
        task = plan.tasks[scope.component][node.task]
        step = step_ready(run, plan, node, self.artifacts.uri_for)
        if run.enable_caching and task.caching:
            key = cache_key(step)
            node.cache_key = key
            hit = self._cache_hit(ctx.session, key)
            if hit is not None:
                parameters, artifacts, source = hit
                ctx.publish(
                    StepCached(
                        run_id=run.run_id,
                        step_id=node.id,
                        cache_key=key,
                        source_run_id=source.split("/", 1)[0],
                        source_step_id=source.split("/", 1)[-1],
                        output_parameters=parameters,
                        output_artifacts={
                            k: [ArtifactRef.model_validate(a) for a in v]
                            for k, v in artifacts.items()
                        },
                    ),
                    key=node.id,
                )
                return machine.step_cached(node.id, parameters, artifacts, source=source)
            step = step.model_copy(update={"cache_key": key})
        ctx.publish(step, key=f"{node.id}#{node.attempt}")
        return []

    def _cache_hit(
        self, session: Session, key: str
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]], str] | None:
        entry = store.cached_outputs(session, key)
        if entry is None:
            return None
        outputs = json.loads(entry.outputs)
        artifacts: dict[str, list[dict[str, Any]]] = outputs.get("artifacts", {})
        for refs in artifacts.values():
            for ref in refs:
                if not self._still_there(ref["uri"]):
                    log.info("cache entry %s lost artifact %s: a miss", key, ref["uri"])
                    store.forget(session, key)
                    return None
        return outputs.get("parameters", {}), artifacts, f"{entry.run_id}/{entry.step_id}"

    def _still_there(self, uri: str) -> bool:
        try:
            return self.artifacts.exists(self.artifacts.resolve_key(uri))
        except Exception as exc:  # outside this store, or the store is unreachable
            log.info("cannot check cached artifact %s (%s): treating it as gone", uri, exc)
            return False

    @staticmethod
    def _finished(run: RunState, effect: Finished) -> RunSucceeded | RunFailed | RunCancelled:
        if effect.state == "SUCCEEDED":
            return RunSucceeded(
                run_id=run.run_id,
                output_parameters=run.out_parameters,
                output_artifacts={
                    k: [ArtifactRef.model_validate(a) for a in v]
                    for k, v in run.out_artifacts.items()
                },
            )
        if effect.state == "CANCELLED":
            return RunCancelled(run_id=run.run_id, reason=run.cancel_reason)
        return RunFailed(run_id=run.run_id, reason=run.error, failed_steps=run.failed_steps)

    def _plan(self, session: Session, run_id: str) -> Plan:
        plan = self._plans.get(run_id)
        if plan is None:
            plan = compile_plan(*load_pipeline(json.loads(store.spec(session, run_id))))
            self._remember_plan(run_id, plan)
        else:
            self._plans.move_to_end(run_id)
        return plan

    def _remember_plan(self, run_id: str, plan: Plan) -> None:
        self._plans[run_id] = plan
        while len(self._plans) > self._plan_cache_size:
            self._plans.popitem(last=False)

    def _reject(
        self, ctx: HandlerContext[Any], msg: SubmitRun, run: RunState, reason: str, now: datetime
    ) -> None:
        run.state = "REJECTED"
        run.error = reason
        run.finished_at = now.isoformat()
        ctx.session.add(
            self._new_row(run, pack_pipeline(msg.pipeline_spec, msg.platform_spec), now)
        )
        ctx.publish(RunRejected(run_id=msg.run_id, reason=reason))
        log.info("run %s rejected: %s", msg.run_id, reason)

    @staticmethod
    def _new_row(run: RunState, spec: dict[str, Any], now: datetime) -> store.RunRow:
        return store.RunRow(
            run_id=run.run_id,
            state=run.state,
            version=0,
            experiment=run.experiment,
            display_name=run.display_name,
            pipeline_name=run.pipeline_name,
            error=run.error,
            created_at=now,
            spec=json.dumps(spec),
            document=store.run_document(run),
        )


async def _no_registry(uri: str) -> ResolvedModel:
    return ResolvedModel(reason="this scheduler was built without a model registry to ask")


def _now() -> datetime:
    return datetime.now(UTC)


def _summary(dead: DeadLetter) -> str:
    """The dead letter's error, without the SQL and traceback lines that follow the first."""
    return (dead.error.strip().splitlines() or [""])[0]
