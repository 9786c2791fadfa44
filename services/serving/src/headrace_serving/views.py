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
    document = row.document.get("spec", {}) if isinstance(row.document, dict) else {}
    predictor = document.get("predictor", {}) if isinstance(document, dict) else {}
    model = predictor.get("model", {}) if isinstance(predictor, dict) else {}
    model = model if isinstance(model, dict) else {}
    model_format = model.get("modelFormat", {})
    return InferenceServiceView(
        name=row.name,
        namespace=row.namespace,
        url=row.url if row.state != "Deleted" else "",
        state=row.state,
        error=row.error,
        storage_uri=row.storage_uri,
        model=row.model,
        alias=row.alias,
        model_format=str(model_format.get("name", "")) if isinstance(model_format, dict) else "",
        protocol_version=str(model.get("protocolVersion") or "v1"),
        canary_traffic_percent=row.canary_traffic_percent,
        min_replicas=_int(predictor, "minReplicas", 1),
        max_replicas=_int(predictor, "maxReplicas", 1),
        generation=row.generation,
        spec_digest=row.spec_digest,
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


def _int(mapping: object, key: str, default: int) -> int:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, int) else default


def _iso(moment: datetime) -> str:
    """SQLite gives naive datetimes back: they are UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.isoformat()
