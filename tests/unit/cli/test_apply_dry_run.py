"""``headrace apply -f FILE --dry-run=kubernetes``: the objects, as YAML, with no platform."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from headrace.cli import main

JOBS = """
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: ddp}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      template:
        spec:
          containers:
            - {name: pytorch, image: pytorch/pytorch:2.3.0, command: [python, train.py]}
    Worker:
      replicas: 1
      template:
        spec:
          containers:
            - {name: pytorch, image: pytorch/pytorch:2.3.0, command: [python, train.py]}
---
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: llm, namespace: research}
spec:
  runtimeRef: {name: torch-distributed}
  trainer: {numNodes: 2, image: pytorch/pytorch:2.3.0, command: [torchrun, train.py]}
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "jobs.yaml"
    path.write_text(text)
    return str(path)


def test_prints_every_object_of_every_job_as_valid_kubernetes_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://127.0.0.1:1")  # nothing is reached
    code = main(["apply", "-f", write(tmp_path, JOBS), "--dry-run=kubernetes"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    objects = list(yaml.safe_load_all(out))
    where = [(o["kind"], o["metadata"]["name"], o["metadata"]["namespace"]) for o in objects]
    assert where == [
        ("ConfigMap", "headrace-job-ddp", "default"),
        ("Service", "ddp", "default"),
        ("Job", "ddp-master", "default"),
        ("Job", "ddp-worker", "default"),
        ("ConfigMap", "headrace-job-llm", "research"),  # the document's own
        ("Service", "llm", "research"),
        ("Job", "llm-node", "research"),
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)

    first = JOBS.split("---")[0]
    assert (
        main(["apply", "-f", write(tmp_path, first), "--dry-run=kubernetes", "-n", "team-a"]) == 0
    )
    objects = list(yaml.safe_load_all(capsys.readouterr().out))
    assert {o["metadata"]["namespace"] for o in objects} == {"team-a"}  # --namespace


def test_the_gang_scheduler_setting_reaches_the_printed_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADRACE_KUBERNETES_GANG_SCHEDULER", "volcano")
    assert main(["apply", "-f", write(tmp_path, JOBS), "--dry-run=kubernetes"]) == 0
    groups = [o for o in yaml.safe_load_all(capsys.readouterr().out) if o["kind"] == "PodGroup"]
    assert [(g["metadata"]["name"], g["spec"]["minMember"]) for g in groups] == [
        ("ddp", 2),
        ("llm", 2),
    ]


def test_a_job_kubernetes_cannot_run_is_refused_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_image = JOBS.replace("image: pytorch/pytorch:2.3.0, command: [python", "command: [python")
    code = main(["apply", "-f", write(tmp_path, no_image), "--dry-run=kubernetes"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "training job default/ddp cannot run on Kubernetes: replicas.Master.image:" in err
    assert "replicas.Worker.image" in err


def test_a_bad_file_or_setting_is_refused_before_anything_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code = main(["apply", "-f", write(tmp_path, JOBS), "--dry-run=kubernetes", "-n", "other"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "metadata.namespace is 'research' but --namespace is 'other'" in err

    monkeypatch.setenv("HEADRACE_KUBERNETES_GANG_SCHEDULER", "kueue")
    code = main(["apply", "-f", write(tmp_path, JOBS), "--dry-run=kubernetes"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "the Kubernetes settings are invalid" in err
    assert "'scheduler-plugins'" in err


def test_only_kubernetes_is_a_dry_run_target(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["apply", "-f", "jobs.yaml", "--dry-run=server"])
    assert exited.value.code == 2
    assert "invalid choice: 'server'" in capsys.readouterr().err
