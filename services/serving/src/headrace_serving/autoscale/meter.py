"""Average concurrency between two samples, integrated exactly as requests come and go."""

from __future__ import annotations

__all__ = ["ConcurrencyMeter"]


class ConcurrencyMeter:
    """The integral of requests in flight (and waiting) over time: each change adds
    ``count * elapsed``; a sample is the integral's growth over the time since the last one.
    Two clock reads per request, nothing else."""

    __slots__ = ("area", "count", "last_change", "last_sample", "sampled_area")

    def __init__(self, now: float) -> None:
        self.count = 0
        self.area = 0.0
        self.last_change = now
        self.last_sample = now
        self.sampled_area = 0.0

    def add(self, now: float, delta: int) -> None:
        self.area += self.count * (now - self.last_change)
        self.last_change = now
        self.count += delta

    def sample(self, now: float) -> float:
        """Average concurrency since the previous sample."""
        self.add(now, 0)
        elapsed = now - self.last_sample
        average = (self.area - self.sampled_area) / elapsed if elapsed > 0 else float(self.count)
        self.last_sample = now
        self.sampled_area = self.area
        return average
