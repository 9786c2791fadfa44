"""Rows -> :class:`InferenceServiceView` (what queries answer and ``InferenceServiceUpdated``
carries)."""

from __future__ import annotations

from datetime import UTC, datetime

from headrace_contracts import InferenceServiceView, RevisionView, TrafficView

from .store import RevisionRow, ServiceRow

__all__ = ["service_view"]

_SERVING = ("Ready", "ScaledToZero")


def service_view(row: ServiceRow, revisions: list[RevisionRow]) -> InferenceServiceView:
    states = {rev.name: rev.state for rev in revisions}
    traffic: list[TrafficView] = []
    if row.state != "Deleted":
        canary_share = row.canary_percent if row.canary else 0
        if row.stable:
            traffic.append(
                TrafficView(
                    revision=row.stable,
                    percent=100 - canary_share,
                    ready=states.get(row.stable) in _SERVING,
                    tag="stable",
                )
            )
        if row.canary:
            traffic.append(
                TrafficView(
                    revision=row.canary,
                    percent=canary_share,
                    ready=states.get(row.canary) in _SERVING,
                    tag="canary",
                )
            )
    return InferenceServiceView(
        name=row.name,
        namespace=row.namespace,
        url=row.url if row.state != "Deleted" else "",
        state=row.state,
        error=row.error,
        storage_uri=row.storage_uri,
        model=row.model,
        alias=row.alias,
        model_format=row.model_format,
        protocol_version=row.protocol_version,
        canary_traffic_percent=row.canary_traffic_percent,
        min_replicas=row.min_replicas,
        max_replicas=row.max_replicas,
        generation=row.generation,
        spec_digest=row.spec_digest,
        request_id=row.request_id,
        revisions=[
            RevisionView(
                name=rev.name,
                storage_uri=rev.storage_uri,
                model_version=rev.model_version,
                state=rev.state,
                reason=rev.reason,
                replicas=rev.replicas,
                ready_replicas=rev.ready_replicas,
                created_at=_iso(rev.created_at),
            )
            for rev in revisions
        ],
        traffic=traffic,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )


def _iso(moment: datetime) -> str:
    """SQLite gives naive datetimes back: they are UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.isoformat()
