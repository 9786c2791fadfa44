"""How many replicas a revision should run: a pure policy, fed concurrency samples.

KServe's (Knative's) concurrency autoscaling in small: the average number of requests in
flight over a stable window, divided by the per-replica target, rounded up, is the number of
replicas; a panic window (short) scales up at once when concurrency has at least doubled the
capacity. ``min_replicas: 0`` lets a revision go to zero after an idle period without a
request. No I/O: the caller brings the clock and the samples.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

__all__ = ["ScalePolicy", "ScaleSettings", "desired_replicas"]


@dataclass(frozen=True, slots=True)
class ScaleSettings:
    min_replicas: int = 1
    max_replicas: int = 1
    target: int = 1
    """Concurrent requests one replica should carry."""
    idle_seconds: float = 30.0
    """Without a request for this long, a ``min_replicas: 0`` revision goes to zero."""
    stable_window: float = 6.0
    panic_window: float = 1.0

    def __post_init__(self) -> None:
        if self.min_replicas < 0 or self.max_replicas < 1 or self.target < 1:
            raise ValueError(
                f"replicas must be min >= 0, max >= 1, target >= 1 (got min "
                f"{self.min_replicas}, max {self.max_replicas}, target {self.target})"
            )


def desired_replicas(
    settings: ScaleSettings,
    *,
    stable_concurrency: float,
    panic_concurrency: float,
    current: int,
    idle_for: float,
) -> int:
    """Replicas for average concurrencies over the stable and panic windows, ``current``
    replicas running, and ``idle_for`` seconds since the last request."""
    target = settings.target
    desired = _replicas_for(stable_concurrency, target)
    panic = _replicas_for(panic_concurrency, target)
    if panic > desired and panic >= 2 * max(current, 1):
        desired = panic
    if settings.min_replicas > 0:
        floor = settings.min_replicas
    else:
        floor = 0 if idle_for >= settings.idle_seconds else min(1, max(current, desired))
    upper = max(settings.max_replicas, settings.min_replicas)
    return max(floor, min(desired, upper))


def _replicas_for(concurrency: float, target: int) -> int:
    return max(0, math.ceil(concurrency / target - 1e-9))


class ScalePolicy:
    """One revision's samples over the stable window, and the decision from them."""

    def __init__(self, settings: ScaleSettings) -> None:
        self.settings = settings
        self.samples: collections.deque[tuple[float, float]] = collections.deque()

    def observe(self, now: float, concurrency: float) -> None:
        self.samples.append((now, concurrency))
        horizon = now - self.settings.stable_window
        while self.samples and self.samples[0][0] <= horizon:
            self.samples.popleft()

    def average(self, now: float, window: float) -> float:
        values = [c for t, c in self.samples if t > now - window]
        return sum(values) / len(values) if values else 0.0

    def desired(self, now: float, *, current: int, idle_for: float) -> int:
        return desired_replicas(
            self.settings,
            stable_concurrency=self.average(now, self.settings.stable_window),
            panic_concurrency=self.average(now, self.settings.panic_window),
            current=current,
            idle_for=idle_for,
        )
