"""Trial bookkeeping (pure): metric observations, a trial's outcome, free slots and the
experiment's end (Katib's conditions)."""

from .metrics import observe, reduce_metrics
from .policy import (
    ACTIVE,
    FINISHED,
    LAST_ERRORS,
    Ending,
    TrialFacts,
    TrialTally,
    best_trial,
    decide_end,
    free_slots,
    pareto_front,
    tally,
    trial_name,
)

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
    "observe",
    "pareto_front",
    "reduce_metrics",
    "tally",
    "trial_name",
]
