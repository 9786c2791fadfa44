"""Writing a trial's outcome on its row, and the event that says so."""

from __future__ import annotations

from headrace_contracts import Message, TrialFailed, TrialSucceeded

from ..trials.outcome import Outcome
from .store import TrialRow, utcnow

__all__ = ["apply_outcome"]


def apply_outcome(trial: TrialRow, outcome: Outcome) -> list[Message]:
    trial.state, trial.reason, trial.message = outcome.state, outcome.reason, outcome.message
    trial.metrics = dict(outcome.metrics)
    trial.finished_at = utcnow()
    if outcome.state != "SUCCEEDED":
        return [
            TrialFailed(
                experiment_id=trial.experiment_id, trial_id=trial.name, reason=outcome.message
            )
        ]
    trial.objective_values = list(outcome.values)
    trial.objective_value = outcome.values[0]
    return [
        TrialSucceeded(
            experiment_id=trial.experiment_id,
            trial_id=trial.name,
            objective_value=outcome.values[0],
            metrics=dict(outcome.metrics),
        )
    ]
