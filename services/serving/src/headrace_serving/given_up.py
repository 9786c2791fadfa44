"""When the bus gives up on one of the serving service's messages (an error that is not
retryable, or retries used up), the InferenceService it concerns shows it, in a transaction of
its own (the failed one wrote nothing):

* ``ApplyInferenceService``: the service is recorded ``Failed`` with the error (its row made
  now if the failed transaction was to create it), with the applied document's digest, so
  ``headrace apply`` finds what it sent and ``serve get/wait`` say why;
  ``InferenceServiceFailed`` is published.
* ``ShiftTraffic`` / ``DeleteInferenceService``: the service keeps its state and traffic; its
  error says the command was not carried out and why, and ``InferenceServiceRejected``
  (repeating the command's ``request_id``) tells the waiting client, which raises it.
* ``ModelPromoted``: every service bound to ``models:/NAME@ALIAS`` keeps serving what it
  served; its error says the rollout to the promoted version did not happen and why.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from headrace_bus import DeadLetter
from headrace_contracts import (
    ApplyInferenceService,
    DeleteInferenceService,
    InferenceServiceRejected,
    Message,
    ModelPromoted,
    ShiftTraffic,
)
from headrace_contracts.kubeflow import manifest_digest
from headrace_runtime import HandlerContext

from .changes import service_failed, updated
from .store import ServiceRow, service_row

__all__ = ["applied_document", "apply_given_up", "command_given_up", "promotion_given_up"]

log = logging.getLogger("headrace.serving")

KEY = "given-up"


def _why(what: str, dead: DeadLetter) -> str:
    return f"the serving service could not {what}: {dead.summary} (its log has the details)"


def applied_document(command: ApplyInferenceService) -> dict[str, Any]:
    """The command's document with its name and namespace filled in (what is recorded)."""
    document = dict(command.spec)
    metadata = document.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, dict) else {}
    metadata.setdefault("name", command.service_name)
    metadata.setdefault("namespace", command.namespace)
    document["metadata"] = metadata
    return document


def _emit(ctx: HandlerContext[Any], events: list[Message], key: str) -> None:
    for position, message in enumerate(events):
        ctx.publish(message, key=f"{KEY}/{key}/{position}")


async def apply_given_up(
    command: ApplyInferenceService, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
    document = applied_document(command)
    namespace = str(document["metadata"]["namespace"])
    name = str(document["metadata"]["name"])
    error = _why("apply the InferenceService", dead) + "; apply it again"
    row = service_row(ctx.session, namespace, name)
    if row is None:
        row = ServiceRow(namespace=namespace, name=name, document=document)
    elif row.state == "Deleted":
        row.url, row.document = "", document
    row.spec_digest = manifest_digest(document)
    row.request_id = command.request_id
    events: list[Message] = [*service_failed(row, error)]
    ctx.session.add(row)
    _emit(ctx, [*events, updated(ctx.session, row)], name)
    log.warning("InferenceService %s/%s: %s", namespace, name, error)


_VERBS = {
    ShiftTraffic: ("shift_traffic", "shift its traffic"),
    DeleteInferenceService: ("delete", "delete it"),
}


async def command_given_up(
    command: ShiftTraffic | DeleteInferenceService, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
    verb, what = _VERBS[type(command)]
    if isinstance(command, ShiftTraffic):
        what = f"shift {command.canary_percent}% of its traffic to the canary"
    reason = _why(what, dead) + "; try again"
    ctx.publish(
        InferenceServiceRejected(
            service_name=command.service_name,
            namespace=command.namespace,
            command=verb,
            reason=reason,
            request_id=command.request_id,
        ),
        key=KEY,
    )
    row = service_row(ctx.session, command.namespace, command.service_name)
    if row is None or row.state == "Deleted":
        return
    row.error = reason
    ctx.session.add(row)
    _emit(ctx, [updated(ctx.session, row)], row.name)
    log.warning("InferenceService %s/%s: %s", row.namespace, row.name, reason)


async def promotion_given_up(
    event: ModelPromoted, ctx: HandlerContext[Any], dead: DeadLetter
) -> None:
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
        row.error = (
            _why(f"roll out {storage} (promoted to @{event.alias}); it serves what it served", dead)
            + f"; apply it again to load models:/{event.model_name}@{event.alias}"
        )
        ctx.session.add(row)
        _emit(ctx, [updated(ctx.session, row)], row.name)
        log.warning("InferenceService %s/%s: %s", row.namespace, row.name, row.error)
