"""Experiments: the tuner's tables, and the views its queries answer with."""

from .store import ExperimentRow, TrialRow, experiment_by_id, trials_of
from .views import experiment_view, trial_view

__all__ = [
    "ExperimentRow",
    "TrialRow",
    "experiment_by_id",
    "experiment_view",
    "trial_view",
    "trials_of",
]
