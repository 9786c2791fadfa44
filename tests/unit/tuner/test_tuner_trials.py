"""Trial bookkeeping without a broker: metric strategies, free slots, Katib's end conditions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from headrace_contracts.kubeflow import ExperimentSpec, parse_experiment
from headrace_tuner.trials import (
    TrialFacts,
    best_trial,
    decide_end,
    free_slots,
    observe,
    pareto_front,
    reduce_metrics,
    tally,
    trial_name,
)
from headrace_tuner.trials.manifest import trial_manifest
from headrace_tuner.trials.outcome import settle

EXAMPLE = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"


def spec(**changes: Any) -> ExperimentSpec:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["spec"].update(changes)
    return parse_experiment(doc)


def trial(number: int, state: str, value: float | None = None, message: str = "") -> TrialFacts:
    return TrialFacts(f"t-{number}", number, state, value, message)


def test_strategies_reduce_every_report() -> None:
    observed: dict[str, Any] = {}
    for step, loss in ((1, 0.9), (2, 0.3), (3, 0.5)):
        observed = observe(observed, "loss", loss, step)
    observed = observe(observed, "distance", 2.0, None)
    observed = observe(observed, "loss", 0.1, 2)  # late: older than step 3
    experiment = spec(
        objective={
            "type": "minimize",
            "objectiveMetricName": "loss",
            "additionalMetricNames": ["distance"],
            "metricStrategies": [{"name": "distance", "value": "latest"}],
        }
    )
    assert reduce_metrics(experiment.objective, observed) == {"loss": 0.1, "distance": 2.0}
    assert observed["loss"]["latest"] == 0.5
    maximize = spec(objective={"type": "maximize", "objectiveMetricName": "loss"})
    assert reduce_metrics(maximize.objective, observed) == {"loss": 0.9}
    assert reduce_metrics(maximize.objective, {}) == {}


def test_free_slots_respect_parallelism_budget_and_grid() -> None:
    experiment = spec(parallelTrialCount=3, maxTrialCount=5)
    assert free_slots(experiment, tally(experiment, []), None) == 3
    assert (
        free_slots(
            experiment, tally(experiment, [trial(0, "RUNNING"), trial(1, "SUCCEEDED", 1.0)]), None
        )
        == 2
    )
    four = [trial(n, "SUCCEEDED", 1.0) for n in range(4)]
    assert free_slots(experiment, tally(experiment, four), None) == 1
    assert free_slots(experiment, tally(experiment, four[:2]), 3) == 1


def test_goal_reached_ends_it_at_once() -> None:
    experiment = spec()  # goal: loss <= 0.05
    ending = decide_end(
        experiment, tally(experiment, [trial(0, "SUCCEEDED", 0.04), trial(1, "RUNNING")]), None
    )
    assert ending is not None
    assert (ending.state, ending.reason) == ("SUCCEEDED", "ExperimentGoalReached")
    assert "trial t-0 reached the goal: loss=0.04 <= 0.05" in ending.message
    assert (
        decide_end(
            experiment, tally(experiment, [trial(0, "SUCCEEDED", 0.06), trial(1, "RUNNING")]), None
        )
        is None
    )


def test_too_many_failures_fail_it_with_the_last_errors() -> None:
    experiment = spec()  # maxFailedTrialCount: 2
    failed = [trial(n, "FAILED", message=f"boom {n}") for n in range(3)]
    assert decide_end(experiment, tally(experiment, failed[:2]), None) is None
    ending = decide_end(experiment, tally(experiment, failed), None)
    assert ending is not None
    assert (ending.state, ending.reason) == ("FAILED", "ExperimentMaxFailedTrialsReached")
    assert ending.message == (
        "3 trials failed, more than maxFailedTrialCount 2; last errors: t-0: boom 0; "
        "t-1: boom 1; t-2: boom 2"
    )


def test_budget_reached_succeeds_unless_nothing_did() -> None:
    experiment = spec(maxFailedTrialCount=None)  # maxTrialCount: 6
    done = [trial(n, "SUCCEEDED", 1.0 + n) for n in range(5)]
    assert decide_end(experiment, tally(experiment, done), None) is None
    ending = decide_end(experiment, tally(experiment, [*done, trial(5, "KILLED")]), None)
    assert ending is not None
    assert (ending.state, ending.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached")
    failing = [trial(n, "FAILED", message="no") for n in range(6)]
    ending = decide_end(experiment, tally(experiment, failing), None)
    assert ending is not None
    assert (ending.state, ending.reason) == ("FAILED", "ExperimentAllTrialsFailed")
    grid = decide_end(experiment, tally(experiment, done[:4]), 4)
    assert grid is not None
    assert grid.reason == "ExperimentSuggestionEndReached"


def test_best_trial_and_names() -> None:
    trials = [trial(0, "SUCCEEDED", 0.5), trial(1, "SUCCEEDED", 0.2), trial(2, "FAILED")]
    best = best_trial(spec(), trials)
    assert best is not None
    assert best.number == 1
    high = best_trial(spec(objective={"type": "maximize", "objectiveMetricName": "loss"}), trials)
    assert high is not None
    assert high.number == 0
    assert trial_name("a" * 70, "abcde", 12) == "a" * 54 + "-abcde-12"
    assert len(trial_name("a" * 70, "abcde", 12)) == 63


def test_pareto_front_keeps_the_non_dominated() -> None:
    trials = [
        TrialFacts("a", 0, "SUCCEEDED", 1.0, values=(1.0, 5.0)),
        TrialFacts("b", 1, "SUCCEEDED", 2.0, values=(2.0, 2.0)),
        TrialFacts("c", 2, "SUCCEEDED", 3.0, values=(3.0, 3.0)),  # dominated by b
        TrialFacts("d", 3, "SUCCEEDED", 2.0, values=(2.0, 2.0)),  # equal to b: kept
        TrialFacts("e", 4, "FAILED"),
    ]
    front = pareto_front(["minimize", "minimize"], trials)
    assert [t.name for t in front] == ["a", "b", "d"]
    flipped = pareto_front(["minimize", "maximize"], trials)
    assert [t.name for t in flipped] == ["a"]


def test_trial_manifests_tell_the_trainer_how_to_read_metrics() -> None:
    values = {"x": "0.5", "shift": "1", "optimizer": "sgd"}
    stdout = trial_manifest(spec(), "t-1", "default", values)
    notes = stdout["metadata"]["annotations"]
    assert notes["headrace.io/metrics-interval"] == "0"
    assert json.loads(notes["headrace.io/metrics-format"]) == [
        r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"
    ]
    custom = spec(metricsCollectorSpec={"source": {"filter": {"metricsFormat": [r"(\w+):(\S+)"]}}})
    notes = trial_manifest(custom, "t-1", "default", values)["metadata"]["annotations"]
    assert json.loads(notes["headrace.io/metrics-format"]) == [r"(\w+):(\S+)"]
    pushed = spec(metricsCollectorSpec={"collector": {"kind": "Push"}})
    notes = trial_manifest(pushed, "t-1", "default", values)["metadata"]["annotations"]
    assert "headrace.io/metrics-format" not in notes


def test_an_outcome_waits_for_a_missing_objective_until_final() -> None:
    experiment = spec()
    assert settle(experiment, {}, final=False) is None
    failed = settle(experiment, observe({}, "distance", 1.0, None), final=True)
    assert failed is not None
    assert (failed.state, failed.reason) == ("FAILED", "MetricsUnavailable")
    assert "never reported the objective metric 'loss' (reported: distance)" in failed.message
    done = settle(experiment, observe({}, "loss", 0.5, 1), final=False)
    assert done is not None
    assert (done.state, done.values, done.metrics) == ("SUCCEEDED", (0.5,), {"loss": 0.5})
