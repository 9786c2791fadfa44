"""What happens to an InferenceService's rows when something happens to it: each function
changes the rows in the caller's session and returns the events to publish (the caller
writes them to the outbox in the same transaction). The rollout decisions are
:class:`~headrace_serving.revisions.Rollout`'s; this module records them."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from headrace_contracts import (
    InferenceServiceFailed,
    InferenceServiceReady,
    InferenceServiceScaled,
    InferenceServiceUpdated,
    Message,
    TrafficShifted,
)
from headrace_contracts.kubeflow import InferenceServiceSpec
from headrace_telemetry import headers_of

from .revisions import Outcome, predictor_digest, revision_name, revision_plan
from .store import LIVE_REVISIONS, RevisionRow, ServiceRow, revision_row, revisions_of, utcnow
from .views import service_view

__all__ = [
    "new_revision",
    "record_failed",
    "record_ready",
    "record_scaled",
    "service_failed",
    "shift_traffic",
    "updated",
]


def new_revision(
    session: Session,
    row: ServiceRow,
    spec: InferenceServiceSpec,
    storage_uri: str,
    model_version: str | None,
    env: dict[str, str],
) -> list[Message] | None:
    """A revision for ``spec`` loading ``storage_uri`` (the events of starting it), unless the
    latest one already runs exactly that: then None, nothing changes."""
    digest = predictor_digest(spec, storage_uri)
    if digest == row.revision_digest and (row.pending or row.stable or row.canary):
        return None
    name = revision_name(row.name, row.next_number)
    plan = revision_plan(spec, name, storage_uri, model_version, env, headers_of())
    plan_json = dataclasses.asdict(plan)
    for mapping in ("env", "requests", "limits", "trace_context"):
        plan_json[mapping] = dict(getattr(plan, mapping))
    session.add(
        RevisionRow(
            namespace=row.namespace,
            service=row.name,
            name=name,
            number=row.next_number,
            digest=digest,
            storage_uri=storage_uri,
            model_version=model_version,
            plan=plan_json,
        )
    )
    row.next_number += 1
    row.revision_digest = digest
    row.state, row.error = "Pending", ""
    return _apply(session, row, row.rollout.created(name))


def record_ready(session: Session, row: ServiceRow, revision: str, replicas: int) -> list[Message]:
    rev = revision_row(session, row.namespace, revision)
    if rev is None or rev.state in ("Retired", "Failed"):
        return []
    rev.state, rev.reason = "Ready", ""
    rev.replicas = max(rev.replicas, replicas)
    rev.ready_replicas = replicas
    session.add(rev)
    if revision != row.pending:
        return []
    outcome = row.rollout.ready(revision, row.canary_traffic_percent)
    if outcome.became == "rolled back":
        rev.reason = "canaryTrafficPercent is 0: rolled back"
    events = _apply(session, row, outcome)
    if outcome.became in ("stable", "canary"):
        row.state, row.error = "Ready", ""
        events.insert(
            0,
            InferenceServiceReady(
                service_name=row.name,
                namespace=row.namespace,
                url=row.url,
                model_name=row.model or row.name,
                model_version=int(rev.model_version) if rev.model_version else None,
                revision=revision,
                replicas=replicas,
                traffic_percent=row.canary_percent if outcome.became == "canary" else 100,
            ),
        )
    return events


def record_failed(session: Session, row: ServiceRow, revision: str, reason: str) -> list[Message]:
    rev = revision_row(session, row.namespace, revision)
    if rev is None or rev.state in ("Retired", "Failed"):
        return []
    rev.state, rev.reason, rev.ready_replicas = "Failed", reason, 0
    session.add(rev)
    events = _apply(session, row, row.rollout.failed(revision), keep=revision)
    error = f"revision {revision} failed: {reason}"
    return [*service_failed(row, error, revision), *events]


def record_scaled(session: Session, row: ServiceRow, revision: str, replicas: int) -> list[Message]:
    rev = revision_row(session, row.namespace, revision)
    if rev is None or rev.state not in LIVE_REVISIONS or rev.replicas == replicas:
        return []
    rev.replicas = replicas
    if replicas == 0:
        rev.state, rev.ready_replicas = "ScaledToZero", 0
    elif rev.state == "ScaledToZero":
        rev.state = "Ready"
    rev.ready_replicas = min(rev.ready_replicas, replicas) if replicas else 0
    session.add(rev)
    return [
        InferenceServiceScaled(
            service_name=row.name, namespace=row.namespace, replicas=replicas, revision=revision
        )
    ]


def shift_traffic(session: Session, row: ServiceRow, percent: int) -> list[Message]:
    return _apply(session, row, row.rollout.shift(percent))


def service_failed(row: ServiceRow, error: str, revision: str = "") -> list[Message]:
    row.state, row.error = "Failed", error
    return [
        InferenceServiceFailed(
            service_name=row.name, namespace=row.namespace, reason=error, revision=revision
        )
    ]


def updated(session: Session, row: ServiceRow) -> InferenceServiceUpdated:
    """Bump the generation and the view to announce (call last, after every change)."""
    row.touch()
    session.add(row)
    session.flush()
    return InferenceServiceUpdated(
        service=service_view(row, revisions_of(session, row.namespace, row.name))
    )


def _apply(session: Session, row: ServiceRow, outcome: Outcome, keep: str = "") -> list[Message]:
    before = row.rollout
    row.rollout = outcome.rollout
    for name in outcome.retired:
        rev = revision_row(session, row.namespace, name)
        if rev is not None and name != keep and rev.state != "Failed":
            rev.state, rev.ready_replicas = "Retired", 0
            rev.retired_at = utcnow()
            session.add(rev)
    if before.traffic == outcome.rollout.traffic:
        return []
    traffic = outcome.rollout.traffic
    return [
        TrafficShifted(
            service_name=row.name,
            namespace=row.namespace,
            canary_percent=traffic.canary_percent if traffic.canary else 0,
            stable_revision=traffic.stable or "",
            canary_revision=traffic.canary or "",
        )
    ]
