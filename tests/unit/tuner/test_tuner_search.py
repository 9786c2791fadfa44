"""Katib algorithms -> Optuna samplers and pruners, spaces -> distributions (no I/O)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from headrace_contracts.kubeflow import ExperimentSpec, parse_experiment
from headrace_tuner.errors import SearchError
from headrace_tuner.search import assignments, plan_search

EXAMPLE = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"


def experiment(
    algorithm: str, settings: dict[str, Any] | None = None, **spec: Any
) -> ExperimentSpec:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["algorithm"] = {
        "algorithmName": algorithm,
        "algorithmSettings": [{"name": k, "value": str(v)} for k, v in (settings or {}).items()],
    }
    doc["spec"].update(spec)
    return parse_experiment(doc)


@pytest.mark.parametrize(
    ("algorithm", "settings", "sampler"),
    [
        ("random", {"random_state": 3}, optuna.samplers.RandomSampler),
        ("tpe", {"n_startup_trials": 4, "n_ei_candidates": 8}, optuna.samplers.TPESampler),
        ("multivariate-tpe", {}, optuna.samplers.TPESampler),
        ("cmaes", {"sigma": 0.5, "restart_strategy": "ipop"}, optuna.samplers.CmaEsSampler),
        ("sobol", {"random_state": 1}, optuna.samplers.QMCSampler),
        ("hyperband", {"eta": 3, "r_l": 9}, optuna.samplers.TPESampler),
    ],
)
def test_algorithms_map_to_samplers(
    algorithm: str, settings: dict[str, Any], sampler: type
) -> None:
    plan = plan_search(experiment(algorithm, settings))
    assert isinstance(plan.sampler, sampler)
    assert plan.directions == ("minimize",)
    study = optuna.create_study(sampler=plan.sampler, pruner=plan.pruner)
    for _ in range(3):  # one trial asked at a time, each within the space
        trial = study.ask(plan.distributions)
        values = assignments(experiment(algorithm, settings), trial.params)
        assert -2.0 <= float(values["x"]) <= 2.0
        assert values["shift"] in {"0", "1", "2", "3"}
        assert values["optimizer"] in {"sgd", "adam"}
        study.tell(trial, float(values["x"]) ** 2)


def test_tpe_settings_reach_the_sampler() -> None:
    plan = plan_search(
        experiment("multivariate-tpe", {"n_startup_trials": 4}, parallelTrialCount=1)
    )
    assert isinstance(plan.sampler, optuna.samplers.TPESampler)
    assert plan.sampler._n_startup_trials == 4
    assert plan.sampler._multivariate
    assert not plan.sampler._constant_liar


def test_hyperband_is_a_pruner() -> None:
    plan = plan_search(experiment("hyperband", {"eta": 2, "r_l": 8}))
    assert isinstance(plan.pruner, optuna.pruners.HyperbandPruner)
    assert plan.pruner._max_resource == 8
    assert plan.pruner._reduction_factor == 2


def test_grid_is_bounded_and_exhaustive() -> None:
    spec = experiment(
        "grid",
        parameters=[
            {
                "name": "x",
                "parameterType": "double",
                "feasibleSpace": {"min": "0", "max": "1", "step": "0.5"},
            },
            {"name": "shift", "parameterType": "int", "feasibleSpace": {"min": "0", "max": "1"}},
            {
                "name": "optimizer",
                "parameterType": "categorical",
                "feasibleSpace": {"list": ["sgd"]},
            },
        ],
    )
    plan = plan_search(spec)
    assert plan.limit == 6
    study = optuna.create_study(sampler=plan.sampler)
    seen = set()
    for _ in range(6):
        trial = study.ask(plan.distributions)
        seen.add(tuple(sorted(assignments(spec, trial.params).items())))
        study.tell(trial, 0.0)
    assert len(seen) == 6


def test_grid_needs_a_step_for_doubles() -> None:
    with pytest.raises(SearchError, match="grid search needs a step for a double parameter"):
        plan_search(experiment("grid"))


def test_medianstop_is_the_median_pruner() -> None:
    spec = experiment(
        "random",
        earlyStopping={
            "algorithmName": "medianstop",
            "algorithmSettings": [
                {"name": "min_trials_required", "value": "2"},
                {"name": "start_step", "value": "3"},
            ],
        },
    )
    pruner = plan_search(spec).pruner
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert (pruner._n_startup_trials, pruner._n_warmup_steps) == (2, 3)


def test_normal_distributions_are_refused() -> None:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["parameters"][0]["feasibleSpace"]["distribution"] = "normal"
    with pytest.raises(SearchError, match="uniform and logUniform spaces only, not normal"):
        plan_search(parse_experiment(doc))


def test_bayesian_optimization_without_torch_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if the torch extra were not installed
    with pytest.raises(SearchError, match="needs PyTorch: install the torch extra"):
        plan_search(experiment("bayesianoptimization"))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs the torch extra")
def test_bayesian_optimization_is_the_gp_sampler() -> None:
    plan = plan_search(experiment("bayesianoptimization", {"n_initial_points": 2}))
    assert isinstance(plan.sampler, optuna.samplers.GPSampler)


def test_medianstop_compares_with_the_true_median_not_the_mean() -> None:
    spec = experiment(
        "random",
        earlyStopping={
            "algorithmName": "medianstop",
            "algorithmSettings": [
                {"name": "min_trials_required", "value": "3"},
                {"name": "start_step", "value": "1"},
            ],
        },
    )
    plan = plan_search(spec)
    study = optuna.create_study(sampler=plan.sampler, pruner=plan.pruner)
    for value in (1.0, 2.0, 100.0):  # median 2, mean 34.3
        done = study.ask(plan.distributions)
        done.report(value, 1)
        study.tell(done, value)
    running = study.ask(plan.distributions)
    running.report(10.0, 1)
    assert running.should_prune()  # worse than the median, better than Katib's mean
    better = study.ask(plan.distributions)
    better.report(1.5, 1)
    assert not better.should_prune()


def test_nsga2_searches_every_objective() -> None:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"]["objective"]["additionalObjectives"] = [{"name": "latency", "type": "maximize"}]
    del doc["spec"]["objective"]["goal"]
    doc["spec"]["algorithm"] = {"algorithmName": "nsga2"}
    plan = plan_search(parse_experiment(doc))
    assert isinstance(plan.sampler, optuna.samplers.NSGAIISampler)
    assert plan.directions == ("minimize", "maximize")


def test_the_file_collector_is_refused_with_what_to_use() -> None:
    spec = experiment(
        "random",
        metricsCollectorSpec={
            "collector": {"kind": "File"},
            "source": {"fileSystemPath": {"path": "/tmp/m.log", "kind": "File"}},
        },
    )
    with pytest.raises(SearchError, match="File metrics collector is not supported yet"):
        plan_search(spec)
