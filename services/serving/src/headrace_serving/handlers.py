"""The serving service's subscribers: thin. Each records what happened on the service's rows
in the handler's transaction (events to the outbox), then, after commit, wakes the controller,
which makes the data plane match the rows.

* ``ApplyInferenceService``: the document is loaded (every problem: state Failed and
  ``InferenceServiceFailed``); a ``models:/`` storage URI is resolved by the registry first
  (one that names no model or alias fails the same way). A predictor that differs from the
  latest revision's makes a new revision; a change of ``canaryTrafficPercent`` alone moves
  traffic.
* ``ShiftTraffic``: the canary's share (100 promotes, 0 rolls back). For a service that does
  not exist, or has no canary revision (as in KServe, a percentage then moves nothing),
  ``InferenceServiceRejected`` says so (the client waits for it); an apply whose name or
  namespace cannot be a DNS label is rejected the same way.
* ``DeleteInferenceService``: the rows are retired and the data plane closes the service.
* ``ModelPromoted``: every service bound to ``models:/NAME@ALIAS`` gets a revision of the new
  version.

A message the bus gives up on ends on the service it concerns (`given_up`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select

from headrace_contracts import (
    ApplyInferenceService,
    DeleteInferenceService,
    GetInferenceService,
    InferenceServiceDeleted,
    InferenceServiceDetail,
    InferenceServiceList,
    InferenceServiceRejected,
    ListInferenceServices,
    Message,
    ModelPromoted,
    ShiftTraffic,
)
from headrace_contracts.kubeflow import (
    InferenceServiceSpec,
    ManifestError,
    manifest_digest,
    parse_inference_service,
)
from headrace_runtime import HandlerContext

from .changes import new_revision, service_failed, shift_traffic, updated
from .dataplane import ServiceKey
from .given_up import applied_document
from .store import RevisionRow, ServiceRow, revisions_of, service_row
from .views import service_view

__all__ = ["Resolve", "ServingHandlers"]

log = logging.getLogger("headrace.serving")

Resolve = Callable[[str, str], Awaitable[tuple[str, str | None]]]
"""``(models:/ URI, namespace)`` -> (storage URI a model server loads, version); raises
``LookupError`` saying why it does not resolve."""


class ServingHandlers:
    def __init__(
        self,
        resolve: Resolve,
        wake: Callable[[ServiceKey], None],
        env: dict[str, str],
        session: Callable[[], Any],
    ) -> None:
        self._resolve = resolve
        self._wake = wake
        self._env = env
        self._session = session

    def _wake_after_commit(self, key: ServiceKey) -> None:
        # The runtime commits before it gives the event loop back (one message per handling).
        asyncio.get_running_loop().call_soon(self._wake, key)

    async def apply(self, command: ApplyInferenceService, ctx: HandlerContext[Any]) -> None:
        document = applied_document(command)
        namespace = str(document["metadata"]["namespace"])
        name = str(document["metadata"]["name"])
        if not 0 < len(name) <= 63 or not 0 < len(namespace) <= 63:
            reason = (
                f"InferenceService {name!r} in namespace {namespace!r} not applied: a name and "
                "a namespace are DNS labels of 1 to 63 characters; give metadata.name (and "
                "metadata.namespace) such a label"
            )
            log.error("%s", reason)
            _reject(ctx, command.service_name, command.namespace, "apply", reason, command)
            return
        spec: InferenceServiceSpec | None = None
        error = ""
        try:
            spec = parse_inference_service(document)
        except ManifestError as problems:
            error = str(problems)
        storage, version = (spec.storage.uri, None) if spec else ("", None)
        if spec is not None and spec.storage.scheme == "models":
            try:  # before any row is read: nothing else runs between reading and commit
                storage, version = await self._resolve(spec.storage.uri, namespace)
            except LookupError as why:
                error = str(why).strip("'\"")
        # no await below this line: the rows read are the rows committed
        row = service_row(ctx.session, namespace, name)
        if row is None:
            row = ServiceRow(namespace=namespace, name=name)
        elif row.state == "Deleted":
            row.state, row.error, row.url = "Pending", "", ""
        row.spec_digest = manifest_digest(document)
        row.request_id = command.request_id
        if not row.revision_digest or (spec is not None and not error):
            # a bad spec never replaces the one whose revisions serve (as KServe's webhook)
            row.document = document
            row.storage_uri = _storage_given(document.get("spec", {}))
        events: list[Message] = []
        if spec is None or error:
            events += service_failed(row, error)
        else:
            row.model, row.alias = spec.storage.model, spec.storage.alias
            row.model_format, row.protocol_version = spec.model_format, spec.protocol_version
            row.min_replicas, row.max_replicas = spec.min_replicas, spec.max_replicas
            before = row.canary_traffic_percent
            row.canary_traffic_percent = spec.canary_traffic_percent
            made = new_revision(ctx.session, row, spec, storage, version, self._env)
            events += made or []
            if made is None and row.canary and before != spec.canary_traffic_percent:
                target = spec.canary_traffic_percent
                events += shift_traffic(ctx.session, row, 100 if target is None else target)
            if row.state == "Failed" and not row.pending and (row.stable or row.canary):
                row.state, row.error = "Ready", ""  # a new spec that loads nothing new
        ctx.session.add(row)
        _emit(ctx, [*events, updated(ctx.session, row)], name)
        self._wake_after_commit(ServiceKey(namespace, name))

    async def shift(self, command: ShiftTraffic, ctx: HandlerContext[Any]) -> None:
        row = service_row(ctx.session, command.namespace, command.service_name)
        if row is None or row.state == "Deleted":
            reason = (
                f"no InferenceService {command.namespace}/{command.service_name}: traffic not "
                "shifted (list them with `headrace serve list`)"
            )
            log.warning("ShiftTraffic: %s", reason)
            _reject(ctx, command.service_name, command.namespace, "shift_traffic", reason, command)
            return
        if not row.canary:
            # as KServe: a canary percentage with one revision moves no traffic
            reason = (
                f"InferenceService {row.namespace}/{row.name} has no canary revision: traffic "
                f"not shifted (its revision {row.stable or row.pending or '(none)'} keeps all "
                "of it); apply a changed spec with canaryTrafficPercent first"
            )
            log.warning("ShiftTraffic: %s", reason)
            _reject(ctx, row.name, row.namespace, "shift_traffic", reason, command)
            return
        events = shift_traffic(ctx.session, row, command.canary_percent)
        _emit(ctx, [*events, updated(ctx.session, row)], row.name)
        self._wake_after_commit(ServiceKey(row.namespace, row.name))

    async def delete(self, command: DeleteInferenceService, ctx: HandlerContext[Any]) -> None:
        row = service_row(ctx.session, command.namespace, command.service_name)
        if row is None or row.state == "Deleted":
            return
        ctx.session.exec(
            delete(RevisionRow).where(
                col(RevisionRow.namespace) == row.namespace, col(RevisionRow.service) == row.name
            )
        )
        row.state, row.error = "Deleted", ""
        row.stable = row.canary = row.pending = row.revision_digest = ""
        row.canary_percent = 0
        ctx.session.add(row)
        deleted = InferenceServiceDeleted(service_name=row.name, namespace=row.namespace)
        _emit(ctx, [deleted, updated(ctx.session, row)], row.name)
        self._wake_after_commit(ServiceKey(row.namespace, row.name))

    async def promoted(self, event: ModelPromoted, ctx: HandlerContext[Any]) -> None:
        storage = f"models:/{event.model_name}/{event.version}"
        bound = ctx.session.exec(
            select(ServiceRow).where(
                ServiceRow.namespace == event.namespace,
                ServiceRow.model == event.model_name,
                ServiceRow.alias == event.alias,
                ServiceRow.state != "Deleted",
            )
        ).all()
        for row in bound:
            try:
                spec = parse_inference_service(row.document)
            except ManifestError:
                continue  # a failed apply binds nothing
            events = new_revision(ctx.session, row, spec, storage, str(event.version), self._env)
            if events is None:
                continue  # already serving that version (a redelivered promotion)
            ctx.session.add(row)
            _emit(ctx, [*events, updated(ctx.session, row)], row.name)
            log.info("%s/%s rolls to %s", row.namespace, row.name, storage)
            self._wake_after_commit(ServiceKey(row.namespace, row.name))

    # queries ---------------------------------------------------------------------------

    async def get(self, query: GetInferenceService) -> InferenceServiceDetail:
        with self._session() as session:
            row = service_row(session, query.namespace, query.name)
            if row is None or row.state == "Deleted":
                return InferenceServiceDetail()
            return InferenceServiceDetail(
                service=service_view(row, revisions_of(session, row.namespace, row.name))
            )

    async def list(self, query: ListInferenceServices) -> InferenceServiceList:
        with self._session() as session:
            where = [ServiceRow.state != "Deleted"]
            if query.namespace:
                where.append(ServiceRow.namespace == query.namespace)
            rows = session.exec(
                select(ServiceRow)
                .where(*where)
                .order_by(col(ServiceRow.namespace), col(ServiceRow.name))
            ).all()
            return InferenceServiceList(
                services=[service_view(r, revisions_of(session, r.namespace, r.name)) for r in rows]
            )


def _reject(
    ctx: HandlerContext[Any],
    name: str,
    namespace: str,
    verb: str,
    reason: str,
    command: ApplyInferenceService | ShiftTraffic,
) -> None:
    rejected = InferenceServiceRejected(
        service_name=name,
        namespace=namespace,
        command=verb,
        reason=reason,
        request_id=command.request_id,
    )
    ctx.publish(rejected)


def _emit(ctx: HandlerContext[Any], events: Sequence[Message], key: str) -> None:
    for position, message in enumerate(events):
        ctx.publish(message, key=f"{key}/{position}")


def _storage_given(spec: object) -> str:
    predictor = spec.get("predictor") if isinstance(spec, dict) else None
    model = predictor.get("model") if isinstance(predictor, dict) else None
    uri = model.get("storageUri") if isinstance(model, dict) else None
    return uri if isinstance(uri, str) else ""
