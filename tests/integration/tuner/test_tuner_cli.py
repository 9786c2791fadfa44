"""`headrace apply -f` with a Katib Experiment and `headrace experiment ...` as a user types
them, on a running platform (real nats-server, trainer and tuner processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tuner_support import Platform, experiment, write

from headrace import Client
from headrace.cli import main
from headrace_contracts import CreateExperiment, ExperimentStarted, GetExperiment
from headrace_testing.wire_order import subjects_seen

EXAMPLE = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"
CODE = "import os\nx = int(os.environ['X'])\nprint(f'epoch=1 loss={x * x} acc={1 / (1 + x)}')\n"


def test_apply_asks_for_the_experiment_once_the_tuner_has_answered(
    client: Client, platform: Platform
) -> None:
    """One question before sending (is there such an experiment?), and one after the
    tuner's ExperimentStarted (the experiment as recorded), never in between."""
    doc = experiment(
        "answered",
        CODE,
        [{"name": "x", "parameterType": "int", "feasibleSpace": {"min": "0", "max": "1"}}],
        algorithm="grid",
    )
    path = write(platform.folder / "answered", doc)
    ask, send, answer = (
        GetExperiment.subject(),
        CreateExperiment.subject(),
        ExperimentStarted.subject(),
    )
    with subjects_seen(platform.nats.url, ask, send, answer) as seen:
        [applied] = client.apply(path)
    assert applied.created
    assert applied.experiment.name == "answered"
    assert seen == [ask, send, answer, ask]
    client.wait_experiment("answered", timeout=60)
    client.delete_experiment("answered")


def test_apply_get_trials_list_and_delete(
    client: Client, platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--nats-url", platform.nats.url]
    doc = experiment(
        "cli-grid",
        CODE,
        [{"name": "x", "parameterType": "int", "feasibleSpace": {"min": "0", "max": "2"}}],
        objective={
            "type": "minimize",
            "objectiveMetricName": "loss",
            "additionalMetricNames": ["acc"],
        },
        algorithm="grid",
        parallelTrialCount=2,
    )
    path = write(platform.folder / "cli", doc)
    assert main(["apply", "-f", str(path), *url]) == 0
    assert capsys.readouterr().out == "experiment.kubeflow.org/cli-grid created\n"
    client.wait_experiment("cli-grid", timeout=60)

    assert main(["experiment", "get", "cli-grid", *url]) == 0
    shown = capsys.readouterr().out
    assert "State:      SUCCEEDED (ExperimentSuggestionEndReached)" in shown
    assert "Objective:  minimize loss" in shown
    assert "Trials:     3 of unbounded (2 in parallel): 0 running, 3 succeeded" in shown
    best = next(line for line in shown.splitlines() if line.startswith("Best trial:"))
    assert best.endswith(": loss=0 with x=0")
    table = shown.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["TRIAL", "STATE", "x", "acc", "loss", "REASON"]
    rows = sorted(line.split()[1:] for line in table[1:])
    assert rows == [
        ["SUCCEEDED", "0", "1", "0"],
        ["SUCCEEDED", "1", "0.5", "1"],
        ["SUCCEEDED", "2", "0.333333", "4"],
    ]

    assert main(["experiment", "trials", "cli-grid", "--json", *url]) == 0
    trials = json.loads(capsys.readouterr().out)
    assert sorted(t["parameters"]["x"] for t in trials) == ["0", "1", "2"]
    assert all(t["metrics"]["loss"] == int(t["parameters"]["x"]) ** 2 for t in trials)

    assert main(["experiment", "list", *url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == [
        "NAMESPACE",
        "NAME",
        "STATE",
        "ALGORITHM",
        "TRIALS",
        "BEST",
        "CREATED",
    ]
    assert any(
        line.split()[:6] == ["default", "cli-grid", "SUCCEEDED", "grid", "3", "0"]
        for line in listed
    )

    assert main(["experiment", "delete", "cli-grid", *url]) == 0
    assert capsys.readouterr().out == "experiment/cli-grid deleted\n"
    assert main(["experiment", "get", "cli-grid", *url]) == 2
    assert "no experiment 'cli-grid' in namespace 'default'" in capsys.readouterr().err


def test_apply_refuses_a_bad_experiment_with_every_problem(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = experiment(
        "cli-bad",
        "print(${trialParameters.momentum})",
        [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "2", "max": "2"}}],
        algorithm="tpe",
        settings={"n_trees": "3"},
    )
    path = write(platform.folder / "cli-bad", doc)
    assert main(["apply", "-f", str(path), "--nats-url", platform.nats.url]) == 2
    err = capsys.readouterr().err
    assert "the Kubeflow YAML has 3 problems" in err
    assert "spec.algorithm.algorithmSettings[0]: unknown setting 'n_trees' of algorithm tpe" in err
    assert "spec.parameters[0].feasibleSpace.max: equals min (2): the space is empty" in err
    assert "uses ${trialParameters.momentum}, which is not a trial parameter" in err


def test_a_kubernetes_dry_run_of_an_experiment_says_why_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["apply", "-f", str(EXAMPLE), "--dry-run=kubernetes"]) == 2
    assert (
        "--dry-run=kubernetes prints training jobs only, and the file holds the Experiment "
        "random-quadratic" in capsys.readouterr().err
    )
