"""A job's row as the platform shows it (``TrainingJobView``): pure."""

from __future__ import annotations

from datetime import datetime

from headrace_contracts import JobCondition, ReplicaStatus, ReplicaView, TrainingJobView

from .codec import decode_state
from .store import TrainingJobRow

__all__ = ["job_view", "replica_statuses"]


def _time(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def replica_statuses(row: TrainingJobRow) -> dict[str, ReplicaStatus]:
    """Kubeflow's ``replicaStatuses`` from the row's replicas (current attempt)."""
    types = {g.get("role", ""): g.get("replica_type", "") for g in row.replicas}
    statuses: dict[str, ReplicaStatus] = {}
    for replica in row.replicas:
        kind = types.get(replica["role"]) or replica["role"].capitalize()
        found = statuses.get(kind, ReplicaStatus())
        state, code = replica.get("state", ""), replica.get("exit_code")
        codes = dict(found.exit_codes)
        if code is not None:
            codes[replica["index"]] = code
        update = {
            "active": found.active + (state == "Running"),
            "succeeded": found.succeeded + (state == "Succeeded"),
            "failed": found.failed + (state == "Failed"),
            "exit_codes": codes,
        }
        statuses[kind] = found.model_copy(update=update)
    return statuses


def job_view(row: TrainingJobRow, *, with_replicas: bool) -> TrainingJobView:
    state = decode_state(row.state) if row.state else None
    conditions: list[JobCondition] = list(state.conditions) if state else []
    replicas = [
        ReplicaView(
            role=r["role"],
            index=r["index"],
            state=r.get("state", "Pending"),
            exit_code=r.get("exit_code"),
            attempt=r.get("attempt", 0),
            log_uri=r.get("log_uri", ""),
        )
        for r in row.replicas
    ]
    return TrainingJobView(
        job_id=row.job_id,
        name=row.name,
        namespace=row.namespace,
        kind=row.kind,
        state=row.phase,
        attempt=state.restarts if state else 0,
        conditions=conditions,
        replica_statuses=replica_statuses(row),
        replicas=replicas if with_replicas else [],
        metrics=dict(row.metrics),
        reason=row.reason,
        exit_code=row.exit_code,
        created_at=_time(row.created_at),
        started_at=_time(row.started_at),
        finished_at=_time(row.finished_at),
        spec_digest=row.spec_digest,
        log_tail=row.log_tail,
        output_uri=row.output_uri,
        run_id=row.run_id,
        step_id=row.step_id,
    )
