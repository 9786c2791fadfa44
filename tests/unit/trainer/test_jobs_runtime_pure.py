"""The pure parts of the training-job controller: metric lines and their rate limit, the
state's JSON, the gang of an attempt, and a start failure in the policy."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headrace_contracts.kubeflow import TrainingJobSpec, load_training_jobs
from headrace_trainer.backends.base import Rendezvous
from headrace_trainer.errors import GangInvalid
from headrace_trainer.jobs import GangPolicy, GangStarted, Phase, ReplicaExited, StartFailed
from headrace_trainer.jobs.codec import decode_state, encode_state
from headrace_trainer.jobs.launch import build_gang
from headrace_trainer.jobs.metrics import (
    MetricGate,
    MetricLine,
    metric_options,
    parse_metric_formats,
    parse_metric_line,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(command: str = "[python, train.py]", working_dir: str = "") -> TrainingJobSpec:
    extra = f", workingDir: {working_dir}" if working_dir else ""
    text = f"""
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {{name: demo}}
spec:
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template: {{spec: {{containers: [{{name: pytorch, image: py, command: {command},
        env: [{{name: RANK, value: "9"}}, {{name: MINE, value: "x"}}]{extra}}}]}}}}
    Worker:
      replicas: 2
      restartPolicy: OnFailure
      template: {{spec: {{containers: [{{name: pytorch, image: py, command: {command}{extra}}}]}}}}
"""
    (found,) = load_training_jobs(text)
    return found


@pytest.mark.parametrize(
    ("line", "values", "step"),
    [
        ("epoch=3 loss=0.21", {"epoch": 3.0, "loss": 0.21}, 3),
        ("headrace.metric accuracy=0.9 step=7", {"accuracy": 0.9, "step": 7.0}, 7),
        ("val/loss=1e-3", {"val/loss": 0.001}, None),
    ],
)
def test_metric_lines_are_read(line: str, values: dict[str, float], step: int | None) -> None:
    assert parse_metric_line(line) == MetricLine(values, step)


@pytest.mark.parametrize(
    "line",
    ["", "rank 0 of 2: backend gloo", "loss=0.2 done", "loss=nan", "loss=abc", "--lr=0.1", "=3"],
)
def test_other_lines_are_not_metrics(line: str) -> None:
    assert parse_metric_line(line) is None


def test_the_gate_reports_changes_at_most_once_per_interval_and_always_the_last() -> None:
    gate = MetricGate(interval=1.0)
    assert gate.offer(MetricLine({"loss": 0.5}), 0.0) == [("loss", 0.5, None)]
    assert gate.offer(MetricLine({"loss": 0.5}), 2.0) == []  # unchanged
    assert gate.offer(MetricLine({"loss": 0.4}, 1), 2.1) == [("loss", 0.4, 1)]
    assert gate.offer(MetricLine({"loss": 0.3}, 2), 2.5) == []  # too soon: held back
    assert gate.offer(MetricLine({"loss": 0.2}, 3), 2.9) == []
    assert gate.flush() == [("loss", 0.2, 3)]
    assert gate.latest == {"loss": 0.2}
    assert gate.flush() == []


def test_the_state_survives_its_json() -> None:
    policy = GangPolicy(job())
    state = policy.start(T0).state
    state = policy.on(state, GangStarted(0), T0).state
    state = policy.on(state, ReplicaExited("worker", 1, 0, 0), T0).state
    assert decode_state(encode_state(state)) == state


def test_a_start_failure_fails_the_job_at_once_whatever_its_restart_policy() -> None:
    policy = GangPolicy(job())
    state = policy.start(T0).state
    decision = policy.on(state, StartFailed("replica worker-0 runs command 'x'"), T0)
    assert decision.state.phase == Phase.FAILED
    (_, fail) = decision.actions
    assert fail.reason == "FailedToStart"  # type: ignore[union-attr]
    assert "PyTorchJob default/demo could not start: replica worker-0" in fail.message  # type: ignore[union-attr]
    assert policy.on(decision.state, StartFailed("again"), T0).actions == ()


def test_the_gang_of_an_attempt(tmp_path: Path) -> None:
    spec = job(working_dir="sub")
    gang = build_gang(
        spec,
        gang_id="default/demo",
        uid="u1",
        attempt=2,
        rendezvous=Rendezvous("127.0.0.1", (4000, 4001, 4002)),
        base=tmp_path,
        job_folder=tmp_path / "job",
        python_bin=str(Path(sys.executable).parent),
        path="/usr/bin",
    )
    assert [(r.name, r.env["RANK"], r.env["MASTER_PORT"]) for r in gang.replicas] == [
        ("master-0", "0", "4000"),
        ("worker-0", "1", "4000"),
        ("worker-1", "2", "4000"),
    ]
    master = gang.replicas[0]
    assert master.argv == ("python", "train.py")
    assert master.cwd == tmp_path / "sub"
    assert master.env["MINE"] == "x"  # the container's own, where the platform sets nothing
    assert master.env["HEADRACE_OUTPUT_DIR"] == str(tmp_path / "job" / "output")
    assert master.env["PATH"] == f"{Path(sys.executable).parent}:/usr/bin"
    assert master.log_key == "training-jobs/default/demo/u1/attempt-2/master-0.log"
    assert gang.attempt == 2


def test_a_container_without_a_command_is_named() -> None:
    with pytest.raises(GangInvalid, match="the Master container gives no command"):
        build_gang(
            job(command="[]"),
            gang_id="g",
            uid="u",
            attempt=1,
            rendezvous=Rendezvous("127.0.0.1", (1, 2, 3)),
            base=None,
            job_folder=Path("/tmp/j"),
            python_bin="/x",
            path="",
        )


def test_custom_metric_formats_and_interval_from_annotations() -> None:
    manifest = {
        "metadata": {
            "annotations": {
                "headrace.io/metrics-format": '["([\\\\w-]+):\\\\s*([-+]?[0-9.]+)"]',
                "headrace.io/metrics-interval": "0",
            }
        }
    }
    formats, interval = metric_options(manifest)
    assert [f.pattern for f in formats] == [r"([\w-]+):\s*([-+]?[0-9.]+)"]
    assert interval == 0.0
    found = parse_metric_formats("Epoch 3 done, val-accuracy: 0.91 epoch: 3", formats)
    assert found is not None
    assert found.values == {"val-accuracy": 0.91, "epoch": 3.0}
    assert found.step == 3
    assert parse_metric_formats("nothing here", formats) is None
    assert metric_options({"metadata": {}}) == ((), None)
    bad = {"metadata": {"annotations": {"headrace.io/metrics-format": "[", "x": "1"}}}
    assert metric_options(bad) == ((), None)
    katib = (re.compile(r"([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)"),)
    line = parse_metric_formats("Epoch[2] Validation-accuracy=0.8 loss=1e-3", katib)
    assert line is not None
    assert line.values == {"Validation-accuracy": 0.8, "loss": 0.001}
