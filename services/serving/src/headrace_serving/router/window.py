"""What the routers answered since the last summary, per InferenceService and revision: the
requests, the 5xx among them, the rate and the p50/p95 latency of one window. Pure: no
clock, no I/O; the fleet records each answer and takes the summaries every interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..dataplane import ServiceKey

__all__ = ["RevisionWindow", "TrafficWindow", "percentile"]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``ordered`` (sorted, not empty)."""
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]


@dataclass(frozen=True)
class RevisionWindow:
    """One revision's window, latencies in seconds."""

    revision: str
    requests: int
    errors: int
    per_second: float
    p50: float
    p95: float


@dataclass
class _Counts:
    errors: int = 0
    seconds: list[float] = field(default_factory=list)


class TrafficWindow:
    """The answers recorded since the last `take`."""

    def __init__(self) -> None:
        self._counts: dict[ServiceKey, dict[str, _Counts]] = {}

    def record(self, key: ServiceKey, revision: str, status: int, seconds: float) -> None:
        counts = self._counts.setdefault(key, {}).setdefault(revision, _Counts())
        counts.seconds.append(seconds)
        if status >= 500:
            counts.errors += 1

    def take(self, window_seconds: float) -> dict[ServiceKey, list[RevisionWindow]]:
        """The summary of each service that answered since the last call (none for an idle
        one), over ``window_seconds``; the window starts again empty."""
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, not {window_seconds}")
        counts, self._counts = self._counts, {}
        summaries: dict[ServiceKey, list[RevisionWindow]] = {}
        for key, revisions in counts.items():
            rows = []
            for revision, found in sorted(revisions.items()):
                ordered = sorted(found.seconds)
                rows.append(
                    RevisionWindow(
                        revision=revision,
                        requests=len(ordered),
                        errors=found.errors,
                        per_second=len(ordered) / window_seconds,
                        p50=percentile(ordered, 50),
                        p95=percentile(ordered, 95),
                    )
                )
            summaries[key] = rows
        return summaries
