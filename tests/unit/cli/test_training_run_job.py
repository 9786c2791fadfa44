"""`headrace.training.run_job`'s pure parts: the job's name in a step, and the manifests it
refuses before anything is sent (no platform needed: it checks them first)."""

from pathlib import Path

import pytest

from headrace.job_errors import ManifestRejected, TrainingJobError
from headrace.training import job_name_in_step, run_job

JOB = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: tiny}
spec:
  pytorchReplicaSpecs:
    Master: {template: {spec: {containers: [{name: pytorch, command: [python, -V]}]}}}
"""


def test_outside_a_step_the_name_is_the_manifests() -> None:
    assert job_name_in_step("tiny", "", "", "1") == "tiny"


def test_in_a_step_the_name_differs_per_run_step_and_attempt() -> None:
    names = {
        job_name_in_step("tiny", run, step, attempt)
        for run, step, attempt in [
            ("r1", "train", "1"),
            ("r2", "train", "1"),
            ("r1", "for-loop-2[0]/train", "1"),
            ("r1", "train", "2"),
        ]
    }
    assert len(names) == 4
    assert all(name.startswith("tiny-") and len(name) == len("tiny-") + 8 for name in names)
    assert job_name_in_step("tiny", "r1", "train", "1") == job_name_in_step(
        "tiny", "r1", "train", "1"
    )


def test_a_long_name_is_cut_to_a_dns_label() -> None:
    name = job_name_in_step("a" * 60 + "-b", "r1", "train", "1")
    assert len(name) == 63
    assert name.startswith("a" * 54 + "-")


def test_a_manifest_of_two_jobs_is_refused() -> None:
    with pytest.raises(TrainingJobError, match="runs one training job, but the manifest holds 2"):
        run_job(JOB + "---" + JOB.replace("tiny", "other"))


def test_an_invalid_manifest_is_refused_with_its_path() -> None:
    with pytest.raises(ManifestRejected, match=r"spec.pytorchReplicaSpecs.Master.replicas"):
        run_job(JOB.replace("Master: {", "Master: {replicas: 0, "))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ManifestRejected, match=r"cannot be read .*: check the path"):
        run_job(tmp_path / "nope.yaml")
