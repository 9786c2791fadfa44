"""A job's `JobState` as JSON for its row, and back (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from headrace_contracts import JobCondition
from headrace_contracts.kubeflow import Role

from .policy import JobState, Phase

__all__ = ["decode_state", "encode_state"]


def encode_state(state: JobState) -> dict[str, Any]:
    return {
        "phase": state.phase.value,
        "attempt": state.attempt,
        "restarts": state.restarts,
        "exits": [[role, index, code] for (role, index), code in sorted(state.exits.items())],
        "conditions": [condition.model_dump() for condition in state.conditions],
        "started_at": state.started_at.isoformat() if state.started_at else None,
    }


def decode_state(data: dict[str, Any]) -> JobState:
    started = data.get("started_at")
    return JobState(
        phase=Phase(data.get("phase", Phase.CREATED.value)),
        attempt=int(data.get("attempt", 0)),
        restarts=int(data.get("restarts", 0)),
        exits={(cast(Role, role), int(index)): int(code) for role, index, code in data["exits"]}
        if data.get("exits")
        else {},
        conditions=tuple(JobCondition.model_validate(c) for c in data.get("conditions", [])),
        started_at=datetime.fromisoformat(started) if started else None,
    )
