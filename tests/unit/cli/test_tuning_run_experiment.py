"""`headrace.tuning.run_experiment` refuses what is not one Katib experiment before it
connects to anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from headrace.experiment_errors import ExperimentError
from headrace.job_errors import ManifestRejected
from headrace.tuning import run_experiment

EXAMPLE = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"
JOB = {
    "apiVersion": "kubeflow.org/v1",
    "kind": "PyTorchJob",
    "metadata": {"name": "tiny"},
    "spec": {
        "pytorchReplicaSpecs": {
            "Master": {"template": {"spec": {"containers": [{"name": "pytorch", "image": "i"}]}}}
        }
    },
}


def test_a_training_job_is_not_an_experiment() -> None:
    with pytest.raises(ExperimentError, match="holds 0 experiment\\(s\\) and 1 job\\(s\\)"):
        run_experiment(JOB)


def test_two_experiments_are_refused() -> None:
    text = EXAMPLE.read_text()
    second = yaml.safe_load(text)
    second["metadata"]["name"] = "other"
    with pytest.raises(ExperimentError, match="holds 2 experiment"):
        run_experiment(text + "\n---\n" + yaml.safe_dump(second))


def test_a_bad_experiment_lists_its_problems() -> None:
    bad = yaml.safe_load(EXAMPLE.read_text())
    bad["spec"]["algorithm"]["algorithmName"] = "annealing"
    with pytest.raises(ManifestRejected, match="unknown algorithm 'annealing'"):
        run_experiment(bad)
