"""``headrace serve`` parsing, the text it prints, and ``headrace apply`` of an invalid
InferenceService file (refused before anything connects)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.cli import build_parser, main
from headrace.serve_render import render_service, render_services
from headrace_contracts import InferenceServiceView, RevisionView, TrafficView


def test_traffic_takes_a_percentage_from_0_to_100(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["serve", "traffic", "iris", "--canary-percent", "25"])
    assert (args.serve_command, args.name, args.canary_percent) == ("traffic", "iris", 25)
    for bad in ("120", "-1", "half"):
        with pytest.raises(SystemExit) as caught:
            build_parser().parse_args(["serve", "traffic", "iris", "--canary-percent", bad])
        assert caught.value.code == 2
        assert "expected a whole percentage from 0 to 100" in capsys.readouterr().err


def test_an_invalid_file_is_refused_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "isvc.yaml"
    path.write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: iris}\n"
        "spec: {predictor: {minReplicas: 3, maxReplicas: 1, model: {modelFormat: {name: "
        "sklearn}}}}\n"
    )
    # no platform runs at this URL: the file is refused before anything connects
    code = main(["apply", "-f", str(path), "--nats-url", "nats://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: the InferenceService YAML has 2 problems" in err
    assert "spec.predictor.model.storageUri: is required" in err
    assert "spec.predictor.maxReplicas: 1 is below minReplicas 3" in err


def test_a_file_mixing_kinds_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: a}\n"
        "spec: {predictor: {model: {modelFormat: {name: sklearn}, storageUri: /m}}}\n---\n"
        "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata: {name: b}\nspec: {}\n"
    )
    assert main(["apply", "-f", str(path), "--nats-url", "nats://127.0.0.1:1"]) == 2
    assert "mixes InferenceServices with other kinds" in capsys.readouterr().err


def test_the_text_views() -> None:
    view = InferenceServiceView(
        name="iris",
        state="Failed",
        url="http://127.0.0.1:9000",
        error="revision iris-predictor-00002 failed: cannot load",
        storage_uri="models:/iris@production",
        revisions=[
            RevisionView(
                name="iris-predictor-00002",
                storage_uri="models:/iris/2",
                model_version="2",
                state="Failed",
                reason="cannot load",
            ),
            RevisionView(
                name="iris-predictor-00001",
                storage_uri="models:/iris/1",
                model_version="1",
                state="Ready",
                replicas=2,
                ready_replicas=2,
            ),
        ],
        traffic=[TrafficView(revision="iris-predictor-00001", percent=100, ready=True)],
    )
    text = render_service(view)
    assert "InferenceService default/iris: Failed" in text
    assert "error:    revision iris-predictor-00002 failed: cannot load" in text
    assert "stable  iris-predictor-00001 100% (ready)" in text
    assert "iris-predictor-00001 Ready 2/2 replicas models:/iris/1 v1" in text
    listed = render_services([view])
    assert "iris" in listed
    assert "iris-predictor-00001 100%" in listed
    assert render_services([]) == "no InferenceServices"
