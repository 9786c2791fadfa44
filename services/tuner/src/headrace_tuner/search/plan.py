"""How an experiment searches (pure, no I/O): its Optuna sampler, its pruner, the
distributions of its parameters, its directions, and how many distinct trials it has.

Katib algorithm names map to Optuna samplers: ``random`` (RandomSampler), ``grid``
(GridSampler), ``tpe`` and ``multivariate-tpe`` (TPESampler), ``bayesianoptimization``
(GPSampler, which needs PyTorch), ``cmaes`` (CmaEsSampler), ``sobol`` (QMCSampler) and
``hyperband`` (TPE with Optuna's HyperbandPruner); beyond Katib, ``nsga2`` (NSGAIISampler),
for multi-objective experiments (``objective.additionalObjectives``) as for single ones.
Katib's ``medianstop`` early stopping is Optuna's MedianPruner: a trial is stopped when its
best value so far is worse than the true median of the finished trials' values at the same
step. Every setting was checked by name when the YAML was loaded; here each becomes the
sampler's or pruner's argument.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from headrace_contracts.kubeflow import ExperimentSpec, ParameterSpec, format_value

from ..errors import SearchError

__all__ = ["SearchPlan", "assignments", "plan_search"]


@dataclass(frozen=True)
class SearchPlan:
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    distributions: dict[str, BaseDistribution]
    directions: tuple[str, ...]
    limit: int | None = None
    """How many distinct trials the search has (grid: its size), None when unbounded."""
    settings: dict[str, Any] = field(default_factory=dict)


def plan_search(spec: ExperimentSpec, *, resumed_at: int = 0) -> SearchPlan:
    """The search of ``spec``; :class:`SearchError` names what cannot be searched.

    ``resumed_at``: how many trials the study already has when its sampler is made again
    (after a restart); a ``random_state`` seed moves on by that much, so a resumed sampler
    does not replay the suggestions its first life made."""
    if spec.metrics_collector.kind == "File":
        raise SearchError(
            "the File metrics collector is not supported yet: print the metrics to standard "
            "output (StdOut, with a custom metricsFormat if needed) or report them with "
            "headrace.report_metrics (Push)"
        )
    distributions = {p.name: _distribution(p) for p in spec.parameters}
    name, settings = spec.algorithm.name, spec.algorithm.settings
    seed = int(settings["random_state"]) + resumed_at if "random_state" in settings else None
    limit: int | None = None
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    sampler: optuna.samplers.BaseSampler
    if name == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    elif name == "grid":
        grid = {p.name: _grid(p) for p in spec.parameters}
        limit = 1
        for values in grid.values():
            limit *= len(values)
        sampler = _Grid(grid, seed=seed)
    elif name in ("tpe", "multivariate-tpe"):
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=int(settings.get("n_startup_trials", 10)),
            n_ei_candidates=int(settings.get("n_ei_candidates", 24)),
            multivariate=name == "multivariate-tpe",
            constant_liar=spec.parallel_trial_count > 1,
        )
    elif name == "bayesianoptimization":
        if importlib.util.find_spec("torch") is None:
            raise SearchError(
                "algorithm bayesianoptimization is Optuna's GP sampler, which needs PyTorch: "
                "install the torch extra (uv sync --extra torch) or choose tpe"
            )
        sampler = optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=int(settings.get("n_initial_points", 10))
        )
    elif name == "cmaes":
        sigma = settings.get("sigma")
        restart = settings.get("restart_strategy", "none")
        with warnings.catch_warnings():  # sigma0 is deprecated, but it is Katib's `sigma`
            warnings.simplefilter("ignore", FutureWarning)
            sampler = optuna.samplers.CmaEsSampler(
                seed=seed,
                sigma0=float(sigma) if sigma is not None else None,
                restart_strategy=None if restart == "none" else restart,
                warn_independent_sampling=False,
            )
    elif name == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.QMCSampler(
                qmc_type="sobol", scramble=True, seed=seed, warn_independent_sampling=False
            )
    elif name == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(
            seed=seed, population_size=int(settings.get("population_size", 50))
        )
    elif name == "hyperband":
        sampler = optuna.samplers.TPESampler(seed=seed)
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=int(settings.get("min_resource", 1)),
            max_resource=int(settings["r_l"]) if "r_l" in settings else "auto",
            reduction_factor=round(float(settings.get("eta", 3))),
        )
    else:  # the loader refuses unknown names; a spec built by hand may still carry one
        raise SearchError(f"unknown algorithm {name!r}")
    if spec.early_stopping is not None:
        if name == "hyperband":
            raise SearchError(
                "hyperband already stops trials early: remove earlyStopping or choose "
                "another algorithm"
            )
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=spec.early_stopping.min_trials_required,
            n_warmup_steps=spec.early_stopping.start_step,
        )
    return SearchPlan(
        sampler=sampler,
        pruner=pruner,
        distributions=distributions,
        directions=tuple(direction for _, direction in spec.objective.objectives),
        limit=limit,
        settings=dict(settings),
    )


def assignments(spec: ExperimentSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """Optuna's sampled values -> each parameter's text, as the trial template gets it."""
    out: dict[str, str] = {}
    for parameter in spec.parameters:
        out[parameter.name] = format_value(parameter, params[parameter.name])
    return out


class _Grid(optuna.samplers.GridSampler):
    """Optuna's grid sampler, without its ``study.stop()`` once the grid is covered (that
    works only inside ``optimize``): the tuner stops asking at :attr:`SearchPlan.limit`."""

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        return None


def _distribution(parameter: ParameterSpec) -> BaseDistribution:
    if parameter.type in ("categorical", "discrete"):
        return CategoricalDistribution(parameter.values)
    if parameter.distribution in ("normal", "logNormal"):
        raise SearchError(
            f"parameter {parameter.name!r}: Optuna samples uniform and logUniform spaces only, "
            f"not {parameter.distribution}: use uniform or logUniform"
        )
    assert parameter.min is not None
    assert parameter.max is not None
    log = parameter.distribution == "logUniform"
    if log and parameter.step is not None:
        raise SearchError(
            f"parameter {parameter.name!r}: a logUniform space takes no step: remove the step"
        )
    if parameter.type == "int":
        return IntDistribution(
            int(parameter.min), int(parameter.max), log=log, step=int(parameter.step or 1)
        )
    return FloatDistribution(parameter.min, parameter.max, log=log, step=parameter.step)


def _grid(parameter: ParameterSpec) -> list[Any]:
    if parameter.values:
        return list(parameter.values)
    assert parameter.min is not None
    assert parameter.max is not None
    if parameter.type == "int":
        return list(range(int(parameter.min), int(parameter.max) + 1, int(parameter.step or 1)))
    if parameter.step is None:
        raise SearchError(
            f"parameter {parameter.name!r}: grid search needs a step for a double parameter: "
            "add feasibleSpace.step"
        )
    count = int((parameter.max - parameter.min) / parameter.step + 1e-9) + 1
    return [round(parameter.min + i * parameter.step, 12) for i in range(count)]
