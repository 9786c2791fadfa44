"""Which finished runs a retention policy removes: pure, no I/O.

A run goes when it finished more than ``older_than_seconds`` before ``now`` *or* is not among
the newest ``keep`` finished runs (newest by finish time, then run id). Runs that have not
finished (PENDING, RUNNING, CANCELLING) never go and do not count towards ``keep``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from headrace_contracts.run_views import RUN_FINAL_STATES

__all__ = ["FinishedRun", "Policy", "select_runs"]


@dataclass(frozen=True)
class Policy:
    older_than_seconds: float | None = None
    keep: int | None = None

    @property
    def is_off(self) -> bool:
        return self.older_than_seconds is None and self.keep is None


@dataclass(frozen=True)
class FinishedRun:
    """What selection needs of a run: its id, state and when it finished (None: not yet)."""

    run_id: str
    state: str
    finished_at: datetime | None


def select_runs(runs: Iterable[FinishedRun], policy: Policy, now: datetime) -> list[str]:
    """The ids of the runs ``policy`` removes at ``now``, oldest first."""
    finished = sorted(
        (r for r in runs if r.state in RUN_FINAL_STATES and r.finished_at is not None),
        key=lambda r: (r.finished_at, r.run_id),
        reverse=True,
    )
    going: list[FinishedRun] = []
    for position, run in enumerate(finished):
        assert run.finished_at is not None
        too_many = policy.keep is not None and position >= policy.keep
        too_old = policy.older_than_seconds is not None and run.finished_at < now - timedelta(
            seconds=policy.older_than_seconds
        )
        if too_many or too_old:
            going.append(run)
    return [r.run_id for r in reversed(going)]
