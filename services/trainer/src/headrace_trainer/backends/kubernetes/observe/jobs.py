"""What a ``batch/v1`` Job says about its replicas (pure).

A Job ends with a condition ``Complete`` or ``Failed`` (reason ``BackoffLimitExceeded``,
``DeadlineExceeded``, ...). An Indexed Job also says which indexes ended:
``status.completedIndexes`` and ``status.failedIndexes`` are interval lists such as
``"0,2-4"``; `JobObservation.replica_phases` turns them into each index's final phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ....errors import WatchFailed
from ...base import Phase
from .pods import as_dict

__all__ = ["JobObservation", "job_state", "parse_indexes"]


def parse_indexes(text: str | None) -> frozenset[int]:
    """``"0,2-4"`` -> {0, 2, 3, 4}; None or "" -> nothing."""
    found: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise WatchFailed(
                f"Job index list {text!r} has {part!r}, which is neither an index nor a range "
                "'a-b': the API server sends lists such as '0,2-4'"
            ) from None
        found.update(range(first, last + 1))
    return frozenset(found)


@dataclass(frozen=True)
class JobObservation:
    """One Job as last seen: ``outcome`` is ``Complete``, ``Failed`` or "" (still running)."""

    uid: str
    name: str
    labels: dict[str, str]
    outcome: str
    reason: str
    message: str
    active: int
    succeeded: int
    failed: int
    completed_indexes: frozenset[int]
    failed_indexes: frozenset[int]

    @property
    def phase(self) -> Phase:
        if self.outcome == "Complete":
            return Phase.SUCCEEDED
        if self.outcome == "Failed":
            return Phase.FAILED
        return Phase.RUNNING if self.active else Phase.PENDING

    def replica_phases(self) -> dict[int, Phase]:
        """Each ended index's phase (an Indexed Job; empty for a NonIndexed one)."""
        phases = {index: Phase.SUCCEEDED for index in self.completed_indexes}
        phases.update({index: Phase.FAILED for index in self.failed_indexes})
        return phases


def job_state(job: Any) -> JobObservation:
    """Read ``job`` (a ``V1Job`` or its JSON) into a `JobObservation`."""
    data = as_dict(job)
    meta = data.get("metadata") or {}
    status = data.get("status") or {}
    outcome, reason, message = "", "", ""
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            outcome = str(condition["type"])
            reason = str(condition.get("reason") or "")
            message = str(condition.get("message") or "")
    return JobObservation(
        uid=str(meta.get("uid") or ""),
        name=str(meta.get("name") or ""),
        labels=dict(meta.get("labels") or {}),
        outcome=outcome,
        reason=reason,
        message=message,
        active=int(status.get("active") or 0),
        succeeded=int(status.get("succeeded") or 0),
        failed=int(status.get("failed") or 0),
        completed_indexes=parse_indexes(status.get("completedIndexes")),
        failed_indexes=parse_indexes(status.get("failedIndexes")),
    )
