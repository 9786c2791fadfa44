"""The search layer (pure): Katib algorithm names -> Optuna samplers and pruners, and the
experiment's parameters -> Optuna distributions and back to trial assignments."""

from .plan import SearchPlan, assignments, plan_search

__all__ = ["SearchPlan", "assignments", "plan_search"]
