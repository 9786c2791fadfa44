"""The scheduler's trigger handlers: create and delete triggers, and turn each external
CloudEvent into the runs of the triggers that take it.

Every external event is handled once per delivery in one transaction (the runtime records it
by its ``ce-source`` and ``ce-id``); a run started by it has an id derived from the trigger
and the event (:func:`.firing.run_id_for`), so even a repeat that got past that record
submits the same run id again, which the scheduler's ``SubmitRun`` ignores.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from headrace_bus import DeadLetter
from headrace_contracts import (
    CreateTrigger,
    DeleteTrigger,
    GetTrigger,
    ListTriggers,
    SubmitRun,
    TriggerCreated,
    TriggerDeleted,
    TriggerDetail,
    TriggerEventRejected,
    TriggerFired,
    TriggerList,
    TriggerRejected,
    derive_event_id,
)
from headrace_contracts.external import ExternalEvent
from headrace_pipelines import Plan, SpecError, compile_plan, load_pipeline, pack_pipeline
from headrace_pipelines.triggers import (
    CompiledTrigger,
    TriggerError,
    compile_trigger,
    subject_matches,
)
from headrace_runtime import HandlerContext

from ..store import RunRow
from . import store
from .firing import Filtered, Fire, outcome, run_id_for

log = logging.getLogger("headrace.scheduler.triggers")

Compiled = tuple[CompiledTrigger, Plan, dict[str, Any], dict[str, Any] | None]


class Triggers:
    def __init__(self, engine: Callable[[], Any], *, cache_size: int = 256) -> None:
        self._engine = engine
        self._compiled: OrderedDict[str, Compiled] = OrderedDict()
        self._cache_size = cache_size

    # commands --------------------------------------------------------------------------

    async def create(self, msg: CreateTrigger, ctx: HandlerContext[Any]) -> None:
        if store.find(ctx.session, msg.namespace, msg.name) is not None:
            self._reject(
                ctx,
                msg,
                f"trigger {msg.name!r} already exists in namespace {msg.namespace!r}: delete "
                f"it first (headrace trigger delete {msg.name})",
            )
            return
        try:
            plan = compile_plan(msg.pipeline_spec, msg.platform_spec)
            compiled = compile_trigger(
                name=msg.name,
                namespace=msg.namespace,
                event_type=msg.event_type,
                subject=msg.nats_subject,
                filter_text=msg.filter,
                parameters=msg.parameters,
                plan=plan,
            )
        except (SpecError, TriggerError) as exc:
            self._reject(ctx, msg, str(exc))
            return
        trigger_id = derive_event_id(ctx.event_id, "trigger")
        row = store.TriggerRow(
            trigger_id=trigger_id,
            name=msg.name,
            namespace=msg.namespace,
            event_type=msg.event_type,
            subject=msg.nats_subject,
            filter=msg.filter,
            parameters=json.dumps(msg.parameters),
            pipeline_name=plan.name,
            spec=json.dumps(pack_pipeline(msg.pipeline_spec, msg.platform_spec)),
            enable_caching=msg.enable_caching,
            created_at=_now(),
        )
        ctx.session.add(row)
        ctx.session.flush()
        self._remember(trigger_id, (compiled, plan, msg.pipeline_spec, msg.platform_spec))
        ctx.publish(
            TriggerCreated(
                trigger_id=trigger_id,
                name=msg.name,
                namespace=msg.namespace,
                event_type=msg.event_type,
                nats_subject=msg.nats_subject,
                pipeline_name=plan.name,
                request_id=msg.request_id,
            )
        )
        log.info("trigger %s/%s created on %s", msg.namespace, msg.name, msg.event_type)

    async def delete(self, msg: DeleteTrigger, ctx: HandlerContext[Any]) -> None:
        row = store.find(ctx.session, msg.namespace, msg.name)
        if row is None:
            self._reject(
                ctx,
                msg,
                f"no trigger {msg.name!r} in namespace {msg.namespace!r}: list them with "
                "`headrace trigger list`",
            )
            return
        ctx.session.delete(row)
        self._compiled.pop(row.trigger_id, None)
        ctx.publish(
            TriggerDeleted(
                trigger_id=row.trigger_id,
                name=row.name,
                namespace=row.namespace,
                request_id=msg.request_id,
            )
        )

    async def given_up(
        self, msg: CreateTrigger | DeleteTrigger, ctx: HandlerContext[Any], dead: DeadLetter
    ) -> None:
        """The command could not be handled: answer it, so the client is not left waiting."""
        self._reject(ctx, msg, f"the scheduler could not handle it: {dead.summary}")

    # external events -------------------------------------------------------------------

    async def on_event(self, event: ExternalEvent, ctx: HandlerContext[Any]) -> None:
        now = _now()
        took = False
        for row in store.of_type(ctx.session, event.type):
            if not subject_matches(row.subject, event.nats_subject):
                continue
            compiled, plan, spec, platform = self._compile(row)
            result = outcome(compiled, plan, event)
            if isinstance(result, Filtered):
                store.bump(ctx.session, row.trigger_id, now, events_filtered="+1")
                continue
            took = True
            if isinstance(result, Fire):
                run_id = run_id_for(row.name, row.trigger_id, event)
                if ctx.session.get(RunRow, run_id) is not None:
                    # Handled before, its record since pruned: the run exists, nothing to do.
                    log.info(
                        "trigger %s: run %s exists; event %s repeated", row.name, run_id, event.id
                    )
                    continue
                ctx.publish(
                    SubmitRun(
                        run_id=run_id,
                        pipeline_spec=spec,
                        platform_spec=platform,
                        arguments=result.arguments,
                        display_name=f"{row.name}: {event.type} {event.id}",
                        enable_caching=row.enable_caching,
                        labels={"trigger": row.name},
                    ),
                    key=row.trigger_id,
                )
                ctx.publish(
                    TriggerFired(
                        trigger_id=row.trigger_id,
                        name=row.name,
                        namespace=row.namespace,
                        run_id=run_id,
                        event_id=event.id,
                        event_source=event.source,
                        event_type=event.type,
                        arguments=result.arguments,
                    ),
                    key=row.trigger_id,
                )
                store.bump(
                    ctx.session,
                    row.trigger_id,
                    now,
                    events_matched="+1",
                    runs_started="+1",
                    last_run_id=run_id,
                )
                continue
            reason = f"event {event.id!r} from {event.source!r}: {result.reason}"
            ctx.publish(
                TriggerEventRejected(
                    trigger_id=row.trigger_id,
                    name=row.name,
                    namespace=row.namespace,
                    event_id=event.id,
                    event_source=event.source,
                    event_type=event.type,
                    reason=result.reason,
                ),
                key=row.trigger_id,
            )
            store.bump(
                ctx.session,
                row.trigger_id,
                now,
                events_matched="+1",
                events_rejected="+1",
                last_error=reason,
                last_error_event_id=event.id,
            )
            log.info("trigger %s/%s: %s", row.namespace, row.name, reason)
        if not took:
            store.count_unmatched(ctx.session)

    # queries ---------------------------------------------------------------------------

    def get(self, query: GetTrigger) -> TriggerDetail:
        with Session(self._engine()) as session:
            row = store.find(session, query.namespace, query.name)
            return TriggerDetail(trigger=store.view(row) if row is not None else None)

    def list(self, query: ListTriggers) -> TriggerList:
        with Session(self._engine()) as session:
            return TriggerList(
                triggers=[store.view(r) for r in store.listed(session, query.namespace)],
                unmatched_events=store.unmatched(session),
            )

    # machinery -------------------------------------------------------------------------

    def _compile(self, row: store.TriggerRow) -> Compiled:
        found = self._compiled.get(row.trigger_id)
        if found is not None:
            self._compiled.move_to_end(row.trigger_id)
            return found
        spec, platform = load_pipeline(json.loads(row.spec))
        plan = compile_plan(spec, platform)
        compiled = compile_trigger(
            name=row.name,
            namespace=row.namespace,
            event_type=row.event_type,
            subject=row.subject,
            filter_text=row.filter,
            parameters=json.loads(row.parameters),
            plan=plan,
        )
        made = (compiled, plan, spec, platform)
        self._remember(row.trigger_id, made)
        return made

    def _remember(self, trigger_id: str, compiled: Compiled) -> None:
        self._compiled[trigger_id] = compiled
        while len(self._compiled) > self._cache_size:
            self._compiled.popitem(last=False)

    @staticmethod
    def _reject(ctx: HandlerContext[Any], msg: CreateTrigger | DeleteTrigger, reason: str) -> None:
        ctx.publish(
            TriggerRejected(
                name=msg.name, namespace=msg.namespace, reason=reason, request_id=msg.request_id
            )
        )
        log.info("%s %s/%s rejected: %s", type(msg).__name__, msg.namespace, msg.name, reason)


def _now() -> datetime:
    return datetime.now(UTC)
