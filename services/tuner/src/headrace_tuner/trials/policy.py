"""When to start trials and when an experiment ends, as Katib decides it (pure).

* Free slots: ``parallelTrialCount`` minus the trials running, never past
  ``maxTrialCount`` trials in all nor past the search's own size (a grid).
* The end, checked in this order: a succeeded trial reached the goal (Succeeded,
  ``ExperimentGoalReached``); more trials failed than ``maxFailedTrialCount`` (Failed,
  ``ExperimentMaxFailedTrialsReached``, with the last errors); every trial of the budget has
  finished (Succeeded, ``ExperimentMaxTrialsReached`` or ``ExperimentSuggestionEndReached`` for
  an exhausted grid) — unless none succeeded, which fails it (``ExperimentAllTrialsFailed``,
  with the last errors). Trials still running when it ends are stopped (Killed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from headrace_contracts.kubeflow import ExperimentSpec

__all__ = [
    "ACTIVE",
    "FINISHED",
    "LAST_ERRORS",
    "Ending",
    "TrialFacts",
    "TrialTally",
    "best_trial",
    "decide_end",
    "free_slots",
    "tally",
    "trial_name",
]

ACTIVE = frozenset({"CREATED", "RUNNING"})
FINISHED = frozenset({"SUCCEEDED", "FAILED", "KILLED", "EARLY_STOPPED"})
LAST_ERRORS = 3
"""How many of the last failed trials' errors an experiment's failure message names."""


@dataclass(frozen=True)
class TrialFacts:
    name: str
    number: int
    state: str
    objective_value: float | None = None
    message: str = ""
    values: tuple[float, ...] = ()
    """Every objective's value (multi-objective), in the objectives' order."""


@dataclass(frozen=True)
class Ending:
    state: str  # SUCCEEDED or FAILED
    reason: str
    message: str


def trial_name(experiment: str, uid: str, number: int) -> str:
    """A DNS-1035 name unique to this experiment's creation: ``<experiment>-<uid>-<n>``."""
    suffix = f"-{uid}-{number}"
    return experiment[: 63 - len(suffix)].rstrip("-") + suffix


@dataclass(frozen=True)
class TrialTally:
    """What the end and the free slots depend on, however many trials there are: counts,
    the best trial and the last failures (the tuner reads it with a few aggregate queries)."""

    total: int = 0
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    best: TrialFacts | None = None
    last_failed: tuple[TrialFacts, ...] = ()


def tally(spec: ExperimentSpec, trials: Sequence[TrialFacts]) -> TrialTally:
    """The tally of ``trials`` (all of an experiment's)."""
    failed = sorted((t for t in trials if t.state == "FAILED"), key=lambda t: t.number)
    return TrialTally(
        total=len(trials),
        active=sum(1 for t in trials if t.state in ACTIVE),
        succeeded=sum(1 for t in trials if t.state == "SUCCEEDED"),
        failed=len(failed),
        best=best_trial(spec, trials),
        last_failed=tuple(failed[-LAST_ERRORS:]),
    )


def free_slots(spec: ExperimentSpec, trials: TrialTally, limit: int | None) -> int:
    free = spec.parallel_trial_count - trials.active
    if spec.max_trial_count is not None:
        free = min(free, spec.max_trial_count - trials.total)
    if limit is not None:
        free = min(free, limit - trials.total)
    return max(free, 0)


def best_trial(spec: ExperimentSpec, trials: Sequence[TrialFacts]) -> TrialFacts | None:
    """The succeeded trial with the best objective (single objective; see `pareto_front`)."""
    done = [t for t in trials if t.state == "SUCCEEDED" and t.objective_value is not None]
    if not done or spec.objective.multi:
        return None
    sign = 1.0 if spec.objective.type == "minimize" else -1.0
    return min(done, key=lambda t: (sign * (t.objective_value or 0.0), t.number))


def pareto_front(directions: Sequence[str], trials: Sequence[TrialFacts]) -> list[TrialFacts]:
    """The succeeded trials no other one dominates (as good in every objective and better in
    one), in trial order."""
    signs = [1.0 if d == "minimize" else -1.0 for d in directions]
    done = [t for t in trials if t.state == "SUCCEEDED" and len(t.values) == len(signs)]
    points = {t.number: [s * v for s, v in zip(signs, t.values, strict=True)] for t in done}

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x <= y for x, y in zip(a, b, strict=True)) and a != b

    return [
        t
        for t in done
        if not any(dominates(points[o.number], points[t.number]) for o in done if o is not t)
    ]


def decide_end(spec: ExperimentSpec, trials: TrialTally, limit: int | None) -> Ending | None:
    """How the experiment ends now, or None while it goes on."""
    best = trials.best
    objective = spec.objective
    if (
        best is not None
        and best.objective_value is not None
        and objective.reached(best.objective_value)
    ):
        sign = "<=" if objective.type == "minimize" else ">="
        return Ending(
            "SUCCEEDED",
            "ExperimentGoalReached",
            f"trial {best.name} reached the goal: {objective.metric}={best.objective_value:g} "
            f"{sign} {objective.goal:g}",
        )
    allowed = spec.max_failed_trial_count
    if allowed is not None and trials.failed > allowed:
        return Ending(
            "FAILED",
            "ExperimentMaxFailedTrialsReached",
            f"{trials.failed} trials failed, more than maxFailedTrialCount {allowed}; "
            + _last_errors(trials.last_failed),
        )
    if trials.active:
        return None
    budget = [n for n in (spec.max_trial_count, limit) if n is not None]
    if not budget or trials.total < min(budget):
        return None
    if not trials.succeeded:
        return Ending(
            "FAILED",
            "ExperimentAllTrialsFailed",
            f"none of the {trials.total} trials succeeded; " + _last_errors(trials.last_failed),
        )
    exhausted = (
        limit is not None
        and trials.total >= limit
        and (spec.max_trial_count is None or limit < spec.max_trial_count)
    )
    if exhausted:
        return Ending(
            "SUCCEEDED",
            "ExperimentSuggestionEndReached",
            f"all {limit} points of the search space were tried",
        )
    return Ending(
        "SUCCEEDED", "ExperimentMaxTrialsReached", f"{trials.total} trials finished (maxTrialCount)"
    )


def _last_errors(failed: Sequence[TrialFacts]) -> str:
    last = sorted(failed, key=lambda t: t.number)[-LAST_ERRORS:]
    if not last:
        return "no trial failed"
    return "last errors: " + "; ".join(f"{t.name}: {t.message}" for t in last)
