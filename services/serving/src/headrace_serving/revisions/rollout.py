"""The rollout of an InferenceService's revisions: a pure state machine.

A new revision is *pending* until the data plane reports it ready. Then, with
``canaryTrafficPercent`` P (1-99) and a stable revision to compare with, it becomes the
canary with P% of requests (replacing an earlier canary); without P, or with 100, it is
promoted: it becomes stable and the revisions it replaces are retired; with 0 it is rolled
back at once. Shifting a canary to 100 promotes it, to 0 rolls it back. A revision that fails
leaves traffic where it was (a failed canary is rolled back). Every function returns the new
rollout and the revisions to retire; unknown or repeated inputs change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from ..dataplane import Traffic

__all__ = ["Outcome", "Rollout"]

Became = Literal["stable", "canary", "rolled back", ""]


@dataclass(frozen=True, slots=True)
class Outcome:
    rollout: Rollout
    retired: tuple[str, ...] = ()
    became: Became = ""

    @property
    def traffic_changed(self) -> bool:
        return self.became in ("stable", "canary") or bool(self.retired)


@dataclass(frozen=True, slots=True)
class Rollout:
    stable: str | None = None
    canary: str | None = None
    canary_percent: int = 0
    pending: str | None = None

    @property
    def traffic(self) -> Traffic:
        if self.canary is None:
            return Traffic(stable=self.stable)
        return Traffic(stable=self.stable, canary=self.canary, canary_percent=self.canary_percent)

    @property
    def serving(self) -> tuple[str, ...]:
        return tuple(name for name in (self.stable, self.canary) if name)

    def created(self, revision: str) -> Outcome:
        """A new revision starts loading; an earlier one still loading is superseded."""
        if revision == self.pending or revision in self.serving:
            return Outcome(self)
        retired = (self.pending,) if self.pending else ()
        return Outcome(replace(self, pending=revision), retired)

    def ready(self, revision: str, percent: int | None) -> Outcome:
        """``revision`` is ready; ``percent`` is the spec's canaryTrafficPercent now."""
        if revision != self.pending:
            return Outcome(self)
        if self.stable is None or percent is None or percent >= 100:
            old = tuple(name for name in self.serving if name != revision)
            return Outcome(Rollout(stable=revision), old, "stable")
        if percent <= 0:
            return Outcome(replace(self, pending=None), (revision,), "rolled back")
        old = (self.canary,) if self.canary else ()
        after = replace(self, canary=revision, canary_percent=percent, pending=None)
        return Outcome(after, old, "canary")

    def failed(self, revision: str) -> Outcome:
        """``revision`` cannot serve: traffic stays where it was; a failed canary rolls back."""
        if revision == self.pending:
            return Outcome(replace(self, pending=None), (revision,))
        if revision == self.canary:
            return Outcome(replace(self, canary=None, canary_percent=0), (revision,))
        return Outcome(self)

    def shift(self, percent: int) -> Outcome:
        """Move the canary's share: 100 promotes it, 0 rolls it back."""
        if self.canary is None:
            return Outcome(self)
        if percent >= 100:
            old = (self.stable,) if self.stable else ()
            return Outcome(
                replace(self, stable=self.canary, canary=None, canary_percent=0), old, "stable"
            )
        if percent <= 0:
            return Outcome(
                replace(self, canary=None, canary_percent=0), (self.canary,), "rolled back"
            )
        if percent == self.canary_percent:
            return Outcome(self)
        return Outcome(replace(self, canary_percent=percent), (), "canary")
