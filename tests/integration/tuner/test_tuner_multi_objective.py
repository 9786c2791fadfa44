"""A multi-objective experiment (beyond Katib) on a running platform: NSGA-II over two
objectives, each trial told both values, and the Pareto front reported."""

from __future__ import annotations

import pytest
from tuner_support import Platform, experiment, write

from headrace import Client
from headrace.cli import main

# loss falls and cost rises with x (noise changes neither): a trade-off
CODE = "import os\nx = float(os.environ['X'])\nprint(f'loss={(1 - x) ** 2} cost={x}')\n"


def test_nsga2_reports_the_pareto_front(
    client: Client, platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = experiment(
        "pareto",
        CODE,
        [
            {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}},
            {"name": "noise", "parameterType": "int", "feasibleSpace": {"min": "0", "max": "3"}},
        ],
        objective={
            "type": "minimize",
            "objectiveMetricName": "loss",
            "additionalObjectives": [{"name": "cost", "type": "minimize"}],
        },
        algorithm="nsga2",
        settings={"population_size": "4", "random_state": "3"},
        parallelTrialCount=3,
        maxTrialCount=8,
    )
    client.apply(write(platform.folder / "pareto", doc))
    done = client.wait_experiment("pareto", timeout=90)

    assert (done.state, done.reason) == ("SUCCEEDED", "ExperimentMaxTrialsReached")
    assert done.objectives == ["loss:minimize", "cost:minimize"]
    assert done.best_trial is None
    trials = {t.name: t for t in done.trials}
    assert len(trials) == 8
    for trial in trials.values():
        x = float(trial.parameters["x"])
        assert trial.objective_values == [(1 - x) ** 2, x]

    def dominated(values: list[float]) -> bool:
        return any(
            all(o <= v for o, v in zip(other.objective_values, values, strict=True))
            and other.objective_values != values
            for other in trials.values()
        )

    front = {t.name for t in done.pareto_front}
    assert front == {name for name, t in trials.items() if not dominated(t.objective_values)}

    study = platform.study(done.experiment_id)
    assert {t.number for t in study.best_trials} == {trials[n].number for n in front}
    # without its trials (as `wait_experiment` polls it), the same front and counts
    summary = client.get_experiment("pareto", trials=False)
    assert summary.trials == []
    assert summary.model_dump(exclude={"trials"}) == done.model_dump(exclude={"trials"})

    assert main(["experiment", "get", "pareto", "--nats-url", platform.nats.url]) == 0
    shown = capsys.readouterr().out
    assert "Objective:  loss minimize, cost minimize" in shown
    assert "Pareto front:" in shown
    for name in front:
        assert f"  {name}: loss=" in shown
