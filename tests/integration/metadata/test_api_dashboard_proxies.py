"""The dashboard's views of the tuner's experiments and the trainer's training jobs, asked
over the bus by the metadata service, against a real platform (scheduler, trainer, tuner,
metadata service on a real nats-server): listing, one experiment, its trials page by page,
jobs; unknown names are 404 and a service that does not answer is a 503 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_platform import Dash, dashboard_platform

EXPERIMENT = "dash-quadratic"


def experiment(name: str) -> dict[str, Any]:
    """Three trials, one per value of ``x``, each printing ``loss=x``."""
    container = {
        "name": "training-container",
        "image": "python:3.11",
        "command": ["python", "-c", "import os; print(f\"loss={os.environ['X']}\")"],
        "env": [{"name": "X", "value": "${trialParameters.x}"}],
    }
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": {
            "objective": {"type": "minimize", "objectiveMetricName": "loss"},
            "algorithm": {"algorithmName": "grid"},
            "maxTrialCount": 3,
            "parallelTrialCount": 3,
            "parameters": [
                {
                    "name": "x",
                    "parameterType": "discrete",
                    "feasibleSpace": {"list": ["1", "2", "3"]},
                }
            ],
            "trialTemplate": {
                "trialParameters": [{"name": "x", "reference": "x"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {"spec": {"containers": [container], "restartPolicy": "Never"}}
                    },
                },
            },
        },
    }


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    root = tmp_path_factory.mktemp("dash-proxies")
    with dashboard_platform(root, tuner=True) as made:
        path = Path(root / f"{EXPERIMENT}.yaml")
        path.write_text(yaml.safe_dump(experiment(EXPERIMENT)))
        made.client.apply(path)
        done = made.client.wait_experiment(EXPERIMENT, timeout=120)
        assert done.state == "SUCCEEDED", done.message
        yield made


def test_experiments_and_their_trials_page_by_page(dash: Dash) -> None:
    listed = dash.ok("/tuning/experiments")["experiments"]
    assert [e["name"] for e in listed] == [EXPERIMENT]
    found = dash.ok(f"/tuning/experiments/{EXPERIMENT}")
    assert (found["state"], found["trials_created"], found["trials_succeeded"]) == (
        "SUCCEEDED",
        3,
        3,
    )
    assert found["best_trial"]["objective_value"] == 1.0
    assert found["trials"] == []
    assert found["spec"]["metadata"]["name"] == EXPERIMENT

    first = dash.ok(f"/tuning/experiments/{EXPERIMENT}/trials", limit=2)
    assert [t["number"] for t in first["trials"]] == [0, 1]
    assert first["next_page_token"]
    second = dash.ok(
        f"/tuning/experiments/{EXPERIMENT}/trials", limit=2, page_token=first["next_page_token"]
    )
    assert [t["number"] for t in second["trials"]] == [2]
    assert second["next_page_token"] == ""
    trials = first["trials"] + second["trials"]
    assert sorted(t["parameters"]["x"] for t in trials) == ["1", "2", "3"]
    assert all(t["objective_value"] == float(t["parameters"]["x"]) for t in trials)


def test_training_jobs_of_the_trials(dash: Dash) -> None:
    trials = dash.ok(f"/tuning/experiments/{EXPERIMENT}/trials")["trials"]
    jobs = {j["name"]: j for j in dash.ok("/jobs")["jobs"]}
    assert {t["name"] for t in trials} <= set(jobs)
    one = dash.ok(f"/jobs/{trials[0]['name']}")
    assert one["state"] == "SUCCEEDED"
    assert one["replicas"]
    assert jobs[one["name"]]["replicas"] == []


def test_unknown_names_and_bad_tokens(dash: Dash) -> None:
    missing = dash.get("/tuning/experiments/nope")
    assert "no experiment 'nope' in namespace 'default'" in dash.error(missing, 404)
    no_trials = dash.get("/tuning/experiments/nope/trials")
    assert "no experiment 'nope'" in dash.error(no_trials, 404)
    token = dash.get(f"/tuning/experiments/{EXPERIMENT}/trials", page_token="abc")
    assert "page_token 'abc'" in dash.error(token, 400)
    no_job = dash.get("/jobs/nope")
    assert "no training job 'nope'" in dash.error(no_job, 404)


def test_a_service_that_does_not_answer_is_named(dash: Dash) -> None:
    trainer = next(s for s in dash.platform.services if s.name == "trainer")
    dash.platform.run(trainer.stop())
    dash.platform.services.remove(trainer)
    down = dash.get("/jobs")
    reason = dash.error(down, 503)
    assert reason.startswith("no trainer answers on NATS (ListTrainingJobs)")
    assert "headrace-trainer" in reason
