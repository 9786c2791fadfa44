"""The Katib algorithm names Headrace accepts, and each one's settings (pure table).

A setting is checked here (its name and that its value parses) so ``headrace apply`` reports
a bad one at once; the tuner's search layer maps each to an Optuna sampler or pruner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ALGORITHMS",
    "EARLY_STOPPING",
    "REFUSED_ALGORITHMS",
    "SINGLE_OBJECTIVE",
    "Setting",
    "check_setting",
]


@dataclass(frozen=True)
class Setting:
    parse: Callable[[str], object]
    hint: str


def _int_at_least(low: int) -> Callable[[str], object]:
    def parse(text: str) -> object:
        value = int(text)
        if value < low:
            raise ValueError(f"must be at least {low}")
        return value

    return parse


def _positive_float(text: str) -> object:
    value = float(text)
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _above_one(text: str) -> object:
    value = float(text)
    if not value > 1:
        raise ValueError("must be greater than 1")
    return value


def _one_of(*choices: str) -> Callable[[str], object]:
    def parse(text: str) -> object:
        if text not in choices:
            raise ValueError("must be one of " + ", ".join(repr(c) for c in choices))
        return text

    return parse


_SEED = Setting(_int_at_least(0), "the sampler's seed, a whole number")
_STARTUP = Setting(_int_at_least(0), "random trials before the model is used")
_TPE = {
    "random_state": _SEED,
    "n_startup_trials": _STARTUP,
    "n_ei_candidates": Setting(_int_at_least(1), "candidates scored per suggestion"),
}

ALGORITHMS: dict[str, dict[str, Setting]] = {
    "random": {"random_state": _SEED},
    "grid": {},
    "tpe": _TPE,
    "multivariate-tpe": _TPE,
    "bayesianoptimization": {
        "random_state": _SEED,
        "n_initial_points": _STARTUP,
        "base_estimator": Setting(_one_of("GP"), "only 'GP' (Optuna's Gaussian-process sampler)"),
    },
    "cmaes": {
        "random_state": _SEED,
        "sigma": Setting(_positive_float, "the initial step size"),
        "restart_strategy": Setting(_one_of("none", "ipop", "bipop"), "none, ipop or bipop"),
    },
    "sobol": {"random_state": _SEED},
    "nsga2": {
        "random_state": _SEED,
        "population_size": Setting(_int_at_least(2), "trials per generation"),
    },
    "hyperband": {
        "random_state": _SEED,
        "eta": Setting(_above_one, "the reduction factor"),
        "r_l": Setting(_int_at_least(1), "the largest step a trial runs to"),
        "min_resource": Setting(_int_at_least(1), "the smallest step a trial runs to"),
    },
}
"""Katib algorithm name -> its settings (name -> parser and what it means)."""

SINGLE_OBJECTIVE: dict[str, str] = {
    "cmaes": "searches a single objective",
    "bayesianoptimization": "searches a single objective here",
    "hyperband": "stops trials by a single objective",
}
"""Algorithms refused for a multi-objective experiment, and why."""

REFUSED_ALGORITHMS: dict[str, str] = {
    "enas": "neural architecture search is not supported",
    "darts": "neural architecture search is not supported",
    "pbt": "population-based training is not supported",
}

EARLY_STOPPING: dict[str, dict[str, Setting]] = {
    "medianstop": {
        "min_trials_required": Setting(_int_at_least(1), "finished trials before stopping any"),
        "start_step": Setting(_int_at_least(1), "the first step a trial can be stopped at"),
    }
}

_REFUSED_SETTINGS = {
    ("bayesianoptimization", "acq_func"): "Optuna's GP sampler uses log expected improvement",
    ("bayesianoptimization", "acq_optimizer"): "Optuna's GP sampler optimises its own way",
    ("hyperband", "resource_name"): (
        "Headrace's hyperband stops trials by the step of their reported objective: report it "
        "with step=N instead of giving a resource parameter"
    ),
}


def check_setting(
    table: dict[str, dict[str, Setting]], algorithm: str, name: str, value: str
) -> str:
    """'' when ``name=value`` is a valid setting of ``algorithm``, else what is wrong and
    the fix."""
    settings = table[algorithm]
    if name not in settings:
        why = _REFUSED_SETTINGS.get((algorithm, name))
        if why:
            return f"setting {name!r} of {algorithm} is not supported ({why}): remove it"
        known = ", ".join(sorted(settings)) or "none"
        return f"unknown setting {name!r} of algorithm {algorithm}: remove it (known: {known})"
    try:
        settings[name].parse(value)
    except ValueError as error:
        reason = str(error) if "must" in str(error) else "is not a valid value"
        return f"{name}={value!r} {reason} ({settings[name].hint})"
    return ""
