"""A trial's reported metric values, reduced as its experiment asks (pure).

Every report of a metric updates its observation ``{"min", "max", "latest", "step",
"count"}``; ``latest`` follows the highest step reported (a report without a step is newer
than every earlier one), so a report that arrives late does not overwrite a newer value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace_contracts.kubeflow import Objective

__all__ = ["observe", "reduce_metrics"]


def observe(
    observed: Mapping[str, Any], name: str, value: float, step: int | None
) -> dict[str, Any]:
    """``observed`` with one more report of ``name`` (a new dict)."""
    out = {key: dict(entry) for key, entry in observed.items()}
    entry = out.get(name)
    if entry is None:
        out[name] = {"min": value, "max": value, "latest": value, "step": step, "count": 1}
        return out
    entry["min"] = min(entry["min"], value)
    entry["max"] = max(entry["max"], value)
    entry["count"] += 1
    previous = entry.get("step")
    if step is None or previous is None or step >= previous:
        entry["latest"] = value
        entry["step"] = step if step is not None else previous
    return out


def reduce_metrics(objective: Objective, observed: Mapping[str, Any]) -> dict[str, float]:
    """Each metric of the objective that was reported, reduced by its strategy."""
    out: dict[str, float] = {}
    for name in objective.metrics:
        entry = observed.get(name)
        if entry is not None:
            out[name] = float(entry[objective.strategies.get(name, "latest")])
    return out
