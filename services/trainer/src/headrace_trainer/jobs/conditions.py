"""Job conditions kept the way Kubeflow keeps them (training-operator ``util/status.go``).

* setting a condition replaces the one of its type; ``Running`` and ``Restarting`` replace
  each other;
* ``Succeeded`` or ``Failed`` turn a ``Running`` condition to ``False``;
* once ``Failed`` is True nothing changes any more;
* ``last_transition_time`` moves only when a condition's status changes.

Reasons are ``<Kind><Reason>``: ``PyTorchJobCreated``, ``TFJobRestarting``, ...
"""

from __future__ import annotations

from datetime import datetime

from headrace_contracts import JobCondition

__all__ = ["COMMAND_FAILED", "is_true", "set_condition", "timestamp"]

COMMAND_FAILED = "CommandFailed"
"""Headrace's own condition: a delete, suspend or resume the trainer gave up on (`given_up`)."""


def timestamp(now: datetime) -> str:
    """RFC 3339 in UTC to the second, as Kubernetes writes ``metav1.Time``."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_true(conditions: tuple[JobCondition, ...], kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in conditions)


def set_condition(
    conditions: tuple[JobCondition, ...],
    kind: str,
    status: str,
    reason: str,
    message: str,
    now: datetime,
) -> tuple[JobCondition, ...]:
    """``conditions`` with ``kind`` set, per Kubeflow's ``setCondition``."""
    if is_true(conditions, "Failed"):
        return conditions
    current = next((c for c in conditions if c.type == kind), None)
    if current is not None and current.status == status and current.reason == reason:
        return conditions
    moved = timestamp(now)
    if current is not None and current.status == status:
        moved = current.last_transition_time
    new = JobCondition(
        type=kind, status=status, reason=reason, message=message, last_transition_time=moved
    )
    return (*_filter_out(conditions, kind), new)


def _filter_out(conditions: tuple[JobCondition, ...], kind: str) -> list[JobCondition]:
    kept: list[JobCondition] = []
    for condition in conditions:
        if condition.type == kind or {kind, condition.type} == {"Running", "Restarting"}:
            continue
        if kind in ("Failed", "Succeeded") and condition.type == "Running":
            condition = condition.model_copy(update={"status": "False"})
        kept.append(condition)
    return kept
