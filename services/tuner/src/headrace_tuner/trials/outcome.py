"""A trial's outcome once its job succeeded (pure).

Its metrics are reduced by their strategies; it succeeds when every objective was reported.
When one is missing it may still be on its way — with several tuner replicas a metric
reported before the job's end can be handled after it — so the outcome waits (None) until
``final``, when the trial fails ``MetricsUnavailable`` naming what is missing and what was
reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headrace_contracts.kubeflow import ExperimentSpec

from .metrics import reduce_metrics

__all__ = ["Outcome", "settle"]


@dataclass(frozen=True)
class Outcome:
    state: str  # SUCCEEDED or FAILED
    reason: str
    message: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    values: tuple[float, ...] = ()


def settle(spec: ExperimentSpec, observed: Mapping[str, Any], *, final: bool) -> Outcome | None:
    metrics = reduce_metrics(spec.objective, observed)
    names = [name for name, _ in spec.objective.objectives]
    missing = [name for name in names if name not in metrics]
    if not missing:
        values = tuple(metrics[name] for name in names)
        return Outcome("SUCCEEDED", "TrialSucceeded", metrics=metrics, values=values)
    if not final:
        return None
    reported = ", ".join(sorted(observed)) or "none"
    listed = ", ".join(repr(name) for name in missing)
    message = (
        f"the job succeeded but never reported the objective metric {listed} "
        f"(reported: {reported}); print '{missing[0]}=<value>' or call "
        f"headrace.report_metrics({missing[0]}=...)"
    )
    return Outcome("FAILED", "MetricsUnavailable", message, metrics=metrics)
