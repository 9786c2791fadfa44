"""``headrace-serving-manifests`` and ``headrace apply -f isvc.yaml --dry-run=kubernetes``:
every object of every InferenceService as YAML, valid against the API schema."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from headrace.cli import main as cli
from headrace_serving.kubernetes.dryrun import main

Check = Callable[[list[dict[str, Any]]], None]
ISVC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: iris}
spec:
  predictor:
    maxReplicas: 2
    model:
      modelFormat: {name: sklearn}
      storageUri: models:/iris@production
      resources: {requests: {cpu: 500m}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: wine, namespace: team-a}
spec:
  predictor:
    model:
      modelFormat: {name: xgboost}
      storageUri: s3://models/wine.json
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "isvc.yaml"
    path.write_text(text)
    return str(path)


def test_the_printer_prints_each_services_objects(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    check_kubernetes: Check,
) -> None:
    monkeypatch.setenv("HEADRACE_SERVING_KUBERNETES_IMAGE", "model-server:1")
    assert main([write(tmp_path, ISVC)]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    check_kubernetes(documents)
    assert [(d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]) for d in documents] == [
        ("ConfigMap", "default", "headrace-isvc-iris"),
        ("Deployment", "default", "iris-predictor-00001"),
        ("Service", "default", "iris-predictor-00001"),
        ("HorizontalPodAutoscaler", "default", "iris-predictor-00001"),
        ("ConfigMap", "team-a", "headrace-isvc-wine"),
        ("Deployment", "team-a", "wine-predictor-00001"),
        ("Service", "team-a", "wine-predictor-00001"),
        ("HorizontalPodAutoscaler", "team-a", "wine-predictor-00001"),
    ]


def test_the_printer_refuses_what_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEADRACE_SERVING_KUBERNETES_IMAGE", raising=False)
    zero = ISVC.replace("maxReplicas: 2", "minReplicas: 0")
    assert main([write(tmp_path, zero)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("headrace-serving-manifests: revision iris-predictor-00001")
    assert "HEADRACE_SERVING_KUBERNETES_IMAGE is not set" in err
    assert "minReplicas 0 (scale to zero) needs KEDA" in err
    assert main([str(tmp_path / "missing.yaml")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_headrace_apply_dry_run_runs_the_printer_in_its_own_process(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    check_kubernetes: Check,
) -> None:
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://127.0.0.1:1")  # nothing is reached
    monkeypatch.setenv("HEADRACE_SERVING_KUBERNETES_IMAGE", "model-server:1")
    path = write(tmp_path, ISVC.split("---")[0])
    assert cli(["apply", "-f", path, "--dry-run=kubernetes", "-n", "team-b"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    check_kubernetes(documents)
    assert {d["metadata"]["namespace"] for d in documents} == {"team-b"}
    monkeypatch.delenv("HEADRACE_SERVING_KUBERNETES_IMAGE")
    assert cli(["apply", "-f", path, "--dry-run=kubernetes"]) == 2
    assert "HEADRACE_SERVING_KUBERNETES_IMAGE is not set" in capsys.readouterr().err
