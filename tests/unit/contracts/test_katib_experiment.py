"""Katib Experiment YAML -> ExperimentSpec: every section, Katib's defaults, every bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from headrace_contracts.kubeflow import (
    ExperimentSpec,
    ManifestError,
    TrainingJobSpec,
    load_manifests,
    load_training_jobs,
    parse_experiment,
    parse_training_job,
    render_trial,
)

EXAMPLE = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return loaded


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        parse_experiment(doc)
    assert str(caught.value).startswith("the Experiment YAML has")
    return [str(problem) for problem in caught.value.problems]


def test_example_loads_with_katib_defaults() -> None:
    (spec,) = load_manifests(EXAMPLE.read_text())
    assert isinstance(spec, ExperimentSpec)
    assert (spec.name, spec.namespace, spec.parallel_trial_count) == (
        "random-quadratic",
        "default",
        2,
    )
    assert (spec.max_trial_count, spec.max_failed_trial_count, spec.resume_policy) == (
        6,
        2,
        "Never",
    )
    assert spec.objective.metrics == ("loss", "distance")
    assert spec.objective.strategies == {"loss": "min", "distance": "min"}
    assert spec.objective.reached(0.04)
    assert not spec.objective.reached(0.06)
    assert spec.algorithm.name == "random"
    assert spec.algorithm.settings == {"random_state": "7"}
    x, shift, optimizer = spec.parameters
    assert (x.type, x.min, x.max, x.distribution) == ("double", -2.0, 2.0, "uniform")
    assert (shift.type, shift.min, shift.max) == ("int", 0, 3)
    assert (optimizer.type, optimizer.values) == ("categorical", ("sgd", "adam"))
    assert spec.metrics_collector.kind == "StdOut"
    assert spec.metrics_collector.metrics_format == ()
    assert spec.trial_template.kind == "Job"
    assert spec.early_stopping is None


def test_every_section_is_read() -> None:
    doc = document()
    spec = doc["spec"]
    spec["objective"].update(
        type="maximize",
        metricStrategies=[{"name": "distance", "value": "latest"}],
    )
    spec["algorithm"] = {
        "algorithmName": "tpe",
        "algorithmSettings": [{"name": "n_startup_trials", "value": 5}],
    }
    spec["parameters"].append(
        {
            "name": "lr",
            "parameterType": "double",
            "feasibleSpace": {"min": "0.001", "max": "0.1", "distribution": "logUniform"},
        }
    )
    spec["parameters"].append(
        {"name": "batch", "parameterType": "discrete", "feasibleSpace": {"list": [16, 32, 64]}}
    )
    spec["resumePolicy"] = "LongRunning"
    spec["earlyStopping"] = {
        "algorithmName": "medianstop",
        "algorithmSettings": [
            {"name": "min_trials_required", "value": "2"},
            {"name": "start_step", "value": "1"},
        ],
    }
    spec["metricsCollectorSpec"] = {
        "collector": {"kind": "StdOut"},
        "source": {"filter": {"metricsFormat": [r"(\w+):\s*([-+]?\d*\.?\d+)"]}},
    }
    loaded = parse_experiment(doc)
    assert loaded.objective.strategies == {"loss": "max", "distance": "latest"}
    assert loaded.algorithm.settings == {"n_startup_trials": "5"}
    lr, batch = loaded.parameters[-2:]
    assert (lr.distribution, lr.min) == ("logUniform", 0.001)
    assert batch.values == ("16", "32", "64")
    assert loaded.resume_policy == "LongRunning"
    assert loaded.early_stopping is not None
    assert (loaded.early_stopping.min_trials_required, loaded.early_stopping.start_step) == (2, 1)
    assert loaded.metrics_collector.metrics_format == (r"(\w+):\s*([-+]?\d*\.?\d+)",)


def test_file_and_push_collectors() -> None:
    doc = document()
    doc["spec"]["metricsCollectorSpec"] = {
        "collector": {"kind": "File"},
        "source": {"fileSystemPath": {"path": "/tmp/metrics.log", "kind": "File"}},
    }
    collector = parse_experiment(doc).metrics_collector
    assert (collector.kind, collector.path, collector.file_format) == (
        "File",
        "/tmp/metrics.log",
        "TEXT",
    )
    doc["spec"]["metricsCollectorSpec"] = {"collector": {"kind": "Push"}}
    assert parse_experiment(doc).metrics_collector.kind == "Push"


def test_a_job_trial_renders_as_a_one_replica_pytorchjob() -> None:
    spec = parse_experiment(document())
    manifest = render_trial(
        spec.trial_template,
        "random-quadratic-3",
        "team-a",
        {"x": "0.25", "shift": "2", "optimizer": "adam"},
    )
    job = parse_training_job(manifest)
    assert (job.kind, job.name, job.namespace, job.total_replicas) == (
        "PyTorchJob",
        "random-quadratic-3",
        "team-a",
        1,
    )
    (group,) = job.replicas
    assert group.restart_policy == "Never"
    assert 'x, shift, opt = 0.25, 2, "adam"' in group.container.command[2]


@pytest.mark.parametrize("kind", ["PyTorchJob", "TFJob", "TrainJob"])
def test_training_job_trials(kind: str) -> None:
    container = {
        "name": "pytorch" if kind != "TFJob" else "tensorflow",
        "image": "i",
        "command": ["python", "train.py", "--lr=${trialParameters.lr}"],
    }
    pod = {"spec": {"containers": [container]}}
    trial_spec: dict[str, Any] = {
        "PyTorchJob": {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "spec": {
                "pytorchReplicaSpecs": {
                    "Master": {"replicas": 1, "template": pod},
                    "Worker": {"replicas": 2, "template": pod},
                }
            },
        },
        "TFJob": {
            "apiVersion": "kubeflow.org/v1",
            "kind": "TFJob",
            "spec": {"tfReplicaSpecs": {"Worker": {"replicas": 2, "template": pod}}},
        },
        "TrainJob": {
            "apiVersion": "trainer.kubeflow.org/v1alpha1",
            "kind": "TrainJob",
            "spec": {
                "runtimeRef": {"name": "torch-distributed"},
                "trainer": {"command": container["command"], "numNodes": 2},
            },
        },
    }[kind]
    doc = document()
    doc["spec"]["parameters"] = [
        {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.1"}}
    ]
    doc["spec"]["trialTemplate"] = {
        "trialParameters": [
            {"name": "lr", "reference": "lr"},
            {"name": "trialName", "reference": "${trialSpec.Name}"},
        ],
        "trialSpec": {
            **trial_spec,
            "metadata": {"labels": {"trial": "${trialParameters.trialName}"}},
        },
    }
    spec = parse_experiment(doc)
    job = parse_training_job(render_trial(spec.trial_template, "exp-7", "default", {"lr": "0.05"}))
    assert job.kind == kind
    assert job.total_replicas == (3 if kind == "PyTorchJob" else 2)
    assert job.labels == {"trial": "exp-7"}
    assert "--lr=0.05" in job.replicas[-1].container.command


def test_jobs_and_experiments_apply_together() -> None:
    job = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: random-quadratic}
spec:
  pytorchReplicaSpecs:
    Master:
      template: {spec: {containers: [{name: pytorch, image: i, command: [python]}]}}
"""
    found = load_manifests(EXAMPLE.read_text() + "\n---\n" + job)
    assert [type(item) for item in found] == [ExperimentSpec, TrainingJobSpec]
    with pytest.raises(ManifestError, match="unknown kind 'Experiment'"):
        load_training_jobs(EXAMPLE.read_text())


# bad input -------------------------------------------------------------------------------


def test_unknown_algorithm() -> None:
    doc = document()
    doc["spec"]["algorithm"] = {"algorithmName": "annealing"}
    (problem,) = problems(doc)
    assert (
        "spec.algorithm.algorithmName: unknown algorithm 'annealing': use one of random" in problem
    )
    doc["spec"]["algorithm"] = {"algorithmName": "enas"}
    assert "neural architecture search is not supported" in problems(doc)[0]


def test_unknown_or_bad_algorithm_setting() -> None:
    doc = document()
    doc["spec"]["algorithm"]["algorithmSettings"] = [
        {"name": "n_trees", "value": "3"},
        {"name": "random_state", "value": "seven"},
    ]
    unknown, bad = problems(doc)
    assert "algorithmSettings[0]: unknown setting 'n_trees' of algorithm random" in unknown
    assert "(known: random_state)" in unknown
    assert "algorithmSettings[1]: random_state='seven' is not a valid value" in bad
    doc["spec"]["algorithm"] = {
        "algorithmName": "bayesianoptimization",
        "algorithmSettings": [{"name": "acq_func", "value": "EI"}],
    }
    assert "setting 'acq_func' of bayesianoptimization is not supported" in problems(doc)[0]


def test_empty_and_inverted_feasible_spaces() -> None:
    doc = document()
    x, shift, optimizer = doc["spec"]["parameters"]
    x["feasibleSpace"] = {"min": "1.0", "max": "-1.0"}
    shift["feasibleSpace"] = {"min": "2", "max": "2"}
    optimizer["feasibleSpace"] = {"list": []}
    inverted, empty, no_values = problems(doc)
    assert (
        "spec.parameters[0].feasibleSpace.max: -1.0 is below min 1.0: the space is inverted"
        in inverted
    )
    assert "spec.parameters[1].feasibleSpace.max: equals min (2): the space is empty" in empty
    assert "spec.parameters[2].feasibleSpace.list: is empty" in no_values


def test_bad_numbers_steps_and_log_spaces() -> None:
    doc = document()
    x, shift, _ = doc["spec"]["parameters"]
    x["feasibleSpace"] = {"min": "0", "max": "1", "distribution": "logUniform"}
    shift["feasibleSpace"] = {"min": "0.5", "max": "3", "step": "5"}
    found = problems(doc)
    assert any(
        "parameters[0].feasibleSpace.min: must be above 0 for a logUniform" in p for p in found
    )
    assert any("parameters[1].feasibleSpace.min: '0.5' is not a whole number" in p for p in found)


def test_template_referencing_an_undefined_trial_parameter() -> None:
    doc = document()
    container = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][
        0
    ]
    container["args"] = ["--momentum=${trialParameters.momentum}"]
    (problem,) = problems(doc)
    assert (
        "spec.trialTemplate.trialSpec: uses ${trialParameters.momentum}, which is not a trial "
        "parameter" in problem
    )


def test_trial_parameter_referencing_an_unknown_parameter_or_unused() -> None:
    doc = document()
    template = doc["spec"]["trialTemplate"]
    template["trialParameters"][0]["reference"] = "learning_rate"
    template["trialParameters"].append({"name": "unused", "reference": "x"})
    reference, unused = problems(doc)
    assert "trialParameters[0].reference: 'learning_rate' is neither a parameter" in reference
    assert "trialParameters[3].name: trial parameter 'unused' is not used in trialSpec" in unused


def test_bad_trial_spec_names_its_path() -> None:
    doc = document()
    doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0][
        "volumeMounts"
    ] = [{"name": "data", "mountPath": "/data"}]
    (problem,) = problems(doc)
    assert "spec.trialTemplate.trialSpec.spec.template.spec.containers[0].volumeMounts" in problem
    doc = document()
    doc["spec"]["trialTemplate"]["trialSpec"] = {"apiVersion": "apps/v1", "kind": "Deployment"}
    assert "Deployment (apps/v1) cannot be a trial" in problems(doc)[0]


def test_objective_collector_and_unknown_fields() -> None:
    doc = document()
    doc["spec"]["objective"]["metricStrategies"] = [{"name": "accuracy", "value": "max"}]
    doc["spec"]["metricsCollectorSpec"] = {"collector": {"kind": "PrometheusMetric"}}
    doc["spec"]["earlyStopping"] = {
        "algorithmName": "medianstop",
        "algorithmSettings": [{"name": "patience", "value": "1"}],
    }
    strategy, early, collector = problems(doc)
    assert "metricStrategies[0].name: metric 'accuracy' is neither the objective" in strategy
    assert "collector 'PrometheusMetric' is not supported" in collector
    assert "unknown setting 'patience' of algorithm medianstop" in early
    doc = document()
    doc["spec"]["nasConfig"] = {}
    assert (
        "spec.nasConfig: field 'nasConfig' is not supported by Headrace Katib experiments"
        in problems(doc)[0]
    )


def test_additional_objectives_make_a_multi_objective_experiment() -> None:
    doc = document()
    doc["spec"]["objective"] = {
        "type": "minimize",
        "objectiveMetricName": "loss",
        "additionalObjectives": [{"name": "accuracy", "type": "maximize"}],
    }
    doc["spec"]["algorithm"] = {
        "algorithmName": "nsga2",
        "algorithmSettings": [{"name": "population_size", "value": "4"}],
    }
    spec = parse_experiment(doc)
    assert spec.objective.multi
    assert spec.objective.objectives == (("loss", "minimize"), ("accuracy", "maximize"))
    assert spec.objective.strategies == {"loss": "min", "accuracy": "max"}
    doc["spec"]["objective"]["goal"] = 0.1
    doc["spec"]["algorithm"] = {"algorithmName": "cmaes"}
    doc["spec"]["earlyStopping"] = {"algorithmName": "medianstop"}
    goal, algorithm, early = problems(doc)
    assert "spec.objective.goal: a multi-objective experiment has no single goal" in goal
    assert "spec.algorithm.algorithmName: cmaes searches a single objective" in algorithm
    assert "spec.earlyStopping: early stopping compares one objective" in early
