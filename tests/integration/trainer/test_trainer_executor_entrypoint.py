"""The executor entrypoint a pod runs, and the executor against a real S3 server.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output
from minio import Minio
from trainer_support import step_ready

from headrace_artifacts import FileStore, S3Store
from headrace_contracts import ArtifactRef
from headrace_testing.otlp import otlp_receiver
from headrace_testing.s3 import S3Server, run_s3_server
from headrace_trainer.executor import Outcome, SubprocessRunner, execute


@dsl.component(base_image="python:3.11")
def double(values: list, data: Output[Dataset]) -> list:
    with open(data.path, "w") as file:
        file.write(",".join(str(v) for v in values))
    return [v * 2 for v in values]


@dsl.component(base_image="python:3.11")
def repack(model: Input[Model], packed: Output[Model]) -> int:
    import os
    import shutil

    shutil.copytree(model.path, packed.path)
    with open(os.path.join(packed.path, "extra.txt"), "w") as file:
        file.write("added")
    return len(os.listdir(packed.path))


def test_headrace_executor_runs_a_step_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "artifacts")
    step = step_ready(double, store, tmp_path, parameters={"values": [1, 2, 3]})
    step_file = tmp_path / "step.json"
    step_file.write_text(step.model_dump_json())
    out = tmp_path / "outcome.json"
    env = {**os.environ, "HEADRACE_ARTIFACTS": store.root_uri, "HEADRACE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "headrace_trainer.executor", str(step_file), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = Outcome.model_validate(json.loads(out.read_text()))
    assert outcome.status == "succeeded"
    assert outcome.output_parameters == {"Output": [2, 4, 6]}
    data = outcome.output_artifacts["data"][0]
    assert store.open_read(store.key_for(data.uri)).read() == b"1,2,3"
    assert data.digest == store.stat(store.key_for(data.uri)).digest


@dsl.component(base_image="python:3.11")
def talk() -> str:
    print("hello from the step")
    return "said"


def test_headrace_executor_in_a_pod_stores_its_outcome_and_echoes_the_step_log(
    tmp_path: Path,
) -> None:
    """What a Kubernetes step pod runs: the launcher reads the outcome back from the store,
    and the pod's log (its standard output) is the step's log."""
    store = FileStore(tmp_path / "artifacts")
    step = step_ready(talk, store, tmp_path)
    step_file = tmp_path / "step.json"
    step_file.write_text(step.model_dump_json())
    env = {**os.environ, "HEADRACE_ARTIFACTS": store.root_uri, "HEADRACE_HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "headrace_trainer.executor", str(step_file)]
    argv += ["--out", str(tmp_path / "outcome.json"), "--workdir", str(tmp_path / "work")]
    argv += ["--outcome-key", "runs/r/talk/outcome.json", "--echo-log"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "hello from the step" in result.stdout
    with store.open_read("runs/r/talk/outcome.json") as reader:
        outcome = Outcome.model_validate_json(reader.read())
    assert (outcome.status, outcome.output_parameters) == ("succeeded", {"Output": "said"})


@dsl.component(base_image="python:3.11")
def traced() -> str:
    import os

    return os.environ["TRACEPARENT"]


def test_headrace_executor_continues_the_trace_its_traceparent_names(tmp_path: Path) -> None:
    """What a Kubernetes step pod is given: the launch's TRACEPARENT. The executor's
    ``execute`` span is under it, exported to the OTLP endpoint, and the step's process sees
    the ``run`` span in its own TRACEPARENT, as when the trainer runs the executor itself."""
    trace_id, launch = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    store = FileStore(tmp_path / "artifacts")
    step = step_ready(traced, store, tmp_path)
    step_file = tmp_path / "step.json"
    step_file.write_text(step.model_dump_json())
    out = tmp_path / "outcome.json"
    with otlp_receiver() as receiver:
        env = {
            **os.environ,
            "HEADRACE_ARTIFACTS": store.root_uri,
            "HEADRACE_HOME": str(tmp_path),
            "TRACEPARENT": f"00-{trace_id}-{launch}-01",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        }
        result = subprocess.run(
            [sys.executable, "-m", "headrace_trainer.executor", str(step_file), "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        names = {"execute traced", "run traced"}
        spans = receiver.wait_for(
            lambda got: names <= {s.name for s in got}, "the executor's spans"
        )
    outcome = Outcome.model_validate(json.loads(out.read_text()))
    [execute_span] = [s for s in spans if s.name == "execute traced"]
    [run_span] = [s for s in spans if s.name == "run traced"]
    assert (execute_span.trace_id, execute_span.parent_id) == (trace_id, launch)
    assert execute_span.service == "headrace-executor"
    assert run_span.parent_id == execute_span.span_id
    seen = outcome.output_parameters["Output"]
    assert seen.split("-")[1:3] == [trace_id, run_span.span_id]


def test_headrace_executor_reports_an_unreadable_step(tmp_path: Path) -> None:
    bad = tmp_path / "step.json"
    bad.write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "headrace_trainer.executor", str(bad), "--out", "x.json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "give a StepReady JSON file" in result.stderr


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with run_s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.mark.s3
async def test_s3_store_inputs_downloaded_and_outputs_uploaded(
    s3_server: S3Server, tmp_path: Path
) -> None:
    client = Minio(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        secure=s3_server.secure,
        region=s3_server.region,
    )
    store = S3Store(client, s3_server.bucket, "trainer-test", endpoint=s3_server.endpoint)
    source = tmp_path / "model"
    source.mkdir()
    (source / "weights.bin").write_bytes(b"\x00\x01")
    stored = store.put_dir(source, "runs/r0/train/model")
    step = step_ready(
        repack,
        store,
        tmp_path,
        artifacts={"model": [ArtifactRef(uri=stored.uri, is_dir=True, name="model")]},
    )
    assert step.outputs.artifacts["packed"].uri.startswith("s3://")
    outcome = await execute(step, store, tmp_path / "work", SubprocessRunner())
    assert outcome.status == "succeeded", outcome.reason
    assert outcome.output_parameters == {"Output": 2}
    packed = outcome.output_artifacts["packed"][0]
    assert packed.is_dir
    info = store.stat(store.key_for(packed.uri))
    assert (info.digest, info.file_count) == (packed.digest, 2)
    assert outcome.log_uri.startswith("s3://")
    assert store.exists(store.key_for(outcome.log_uri))
