"""Which revision a request goes to: the traffic split, as a pure decision.

``canary_percent`` of the requests go to the canary while it can serve (loaded once, not
failed or retired); the rest, and all of them whenever the canary cannot serve, go to the
stable revision. The split is exact rather than random: an accumulator adds the percentage
per request and sends the request to the canary each time it passes 100, so any 100
consecutive requests carry exactly ``canary_percent`` canary ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeVar

from ..dataplane import Traffic

__all__ = ["Split", "Target"]


class Target(Protocol):
    """What the split needs to know of a revision."""

    @property
    def routable(self) -> bool:
        """It serves now, or wakes from zero."""
        ...

    @property
    def failure(self) -> str | None:
        """Why it can never serve (failed, retired); None otherwise."""
        ...


T = TypeVar("T", bound=Target)


class Split:
    def __init__(self) -> None:
        self.accumulator = 0

    def to_canary(self, percent: int) -> bool:
        self.accumulator += percent
        if self.accumulator >= 100:
            self.accumulator -= 100
            return True
        return False

    def choose(self, traffic: Traffic, revisions: Mapping[str, T]) -> T | str | None:
        """The revision to route to; or why none can serve; or None: wait for one."""
        canary = revisions.get(traffic.canary) if traffic.canary is not None else None
        if canary is not None and not canary.routable:
            canary = None
        if (
            canary is not None
            and traffic.canary_percent > 0
            and self.to_canary(traffic.canary_percent)
        ):
            return canary
        stable = revisions.get(traffic.stable) if traffic.stable is not None else None
        if stable is not None and stable.failure is None:
            return stable
        if canary is not None:  # the stable revision cannot serve: the canary takes all
            return canary
        if stable is not None:
            return stable.failure
        return None  # nothing to route to yet: wait for a revision
