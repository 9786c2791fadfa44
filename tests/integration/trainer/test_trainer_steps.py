"""Steps run by the trainer service: outcomes, outputs in the store, failures.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output
from trainer_support import Recorder, step_ready

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import (
    ArtifactRef,
    ArtifactWritten,
    MetricReported,
    StepFailed,
    StepStarted,
    StepSucceeded,
)
from headrace_runtime import Service

Trainer = Callable[..., Awaitable[Service]]


@dsl.component(base_image="python:3.11")
def prepare(
    n: int,
    config: dict,
    rows: Output[Dataset],
    model: Output[Model],
    scores: Output[Metrics],
) -> NamedTuple("Outputs", [("count", int), ("summary", dict), ("sizes", list), ("ok", bool)]):
    import os

    with open(rows.path, "w") as file:
        file.write("row\n" * n)
    rows.metadata["rows"] = n
    os.makedirs(model.path)
    for name in ("weights.bin", "config.json"):
        with open(os.path.join(model.path, name), "w") as file:
            file.write(name * n)
    scores.log_metric("accuracy", 0.75)
    scores.log_metric("loss", 2)
    return (n, {"n": n, "nested": [n, {"k": config["k"]}]}, [1, 2, n], True)


@dsl.component(base_image="python:3.11")
def consume(rows: Input[Dataset], model: Input[Model]) -> str:
    import os

    with open(rows.path) as file:
        lines = len(file.readlines())
    return f"{lines} rows, {sorted(os.listdir(model.path))}, {rows.metadata['rows']}"


@dsl.component(base_image="python:3.11")
def crash(code: int) -> None:
    import sys

    print("about to fail", file=sys.stderr)
    sys.exit(code)


@dsl.component(base_image="python:3.11")
def forgetful(data: Output[Dataset]) -> None:
    print("not writing", data.path)


@dsl.container_component
def shell(word: str, answer: dsl.OutputPath(int), report: Output[Dataset]) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'echo 42 > "$0" && echo "$1" > "$2"'],
        args=[answer, word, report.path],
    )


@dsl.component(base_image="python:3.11")
def sleeper(seconds: float) -> None:
    import time

    time.sleep(seconds)


async def test_success_publishes_typed_outputs_artifacts_and_metrics(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    step = step_ready(prepare, store, tmp_path, parameters={"n": 3, "config": {"k": 7}})
    await client.publish(step)
    done = await recorder.first(StepSucceeded, step.step_id)

    assert done.output_parameters == {
        "count": 3,
        "summary": {"n": 3, "nested": [3, {"k": 7}]},
        "sizes": [1, 2, 3],
        "ok": True,
    }
    assert type(done.output_parameters["count"]) is int
    assert type(done.output_parameters["summary"]["nested"][1]["k"]) is int
    started = recorder.of(StepStarted, step.step_id)
    assert [(s.attempt, s.backend) for s in started] == [(1, "local")]

    rows, model = done.output_artifacts["rows"][0], done.output_artifacts["model"][0]
    assert rows.uri == step.outputs.artifacts["rows"].uri
    assert rows.metadata == {"rows": 3}
    assert (rows.is_dir, rows.size) == (False, 12)
    assert rows.digest == store.stat(store.key_for(rows.uri)).digest
    assert model.is_dir
    assert model.schema_title == "system.Model"
    assert model.digest == store.stat(store.key_for(model.uri)).digest

    written = {w.output_name: w.artifact for w in recorder.of(ArtifactWritten, step.step_id)}
    assert set(written) == {"rows", "model", "scores"}
    assert written["rows"] == rows
    metrics = {m.metric: m.value for m in recorder.of(MetricReported, step.step_id)}
    assert metrics == {"accuracy": 0.75, "loss": 2.0}
    assert json.loads(store.open_read(store.key_for(written["scores"].uri)).read()) == {
        "accuracy": 0.75,
        "loss": 2,
    }
    log = store.open_read(store.key_for(done.log_uri)).read().decode()
    assert "Wrote executor output file" in log

    # the outputs feed the next step: a file and a folder artifact as inputs
    follow = step_ready(
        consume,
        store,
        tmp_path,
        step_id="root/consume",
        artifacts={"rows": [rows], "model": [model]},
    )
    await client.publish(follow)
    second = await recorder.first(StepSucceeded, follow.step_id)
    assert second.output_parameters == {"Output": "3 rows, ['config.json', 'weights.bin'], 3"}


async def test_non_zero_exit_fails_with_code_and_stderr_tail(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    step = step_ready(crash, store, tmp_path, parameters={"code": 3}, attempt=2)
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id)
    assert failed.reason == "step 'crash' exited with code 3"
    assert failed.exit_code == 3
    assert failed.attempt == 2
    assert "about to fail" in failed.stderr_tail
    assert failed.log_uri.endswith("/attempt-2/log.txt")
    assert "about to fail" in store.open_read(store.key_for(failed.log_uri)).read().decode()
    assert not recorder.of(StepSucceeded)


async def test_missing_declared_output_fails_naming_it(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    step = step_ready(forgetful, store, tmp_path)
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id)
    expected = Path(store.root, *store.key_for(step.outputs.artifacts["data"].uri).split("/"))
    assert "declares output artifact 'data' but did not write it" in failed.reason
    assert str(expected) in failed.reason
    assert failed.exit_code == 0


async def test_container_image_refused_unless_host_containers_allowed(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    refused = step_ready(shell, store, tmp_path, parameters={"word": "hi"})
    await client.publish(refused)
    failed = await recorder.first(StepFailed, refused.step_id)
    assert failed.reason.startswith(
        "step 'shell' runs container image 'alpine:3.19', which the local backend cannot run"
    )
    assert "--allow-host-containers" in failed.reason
    assert not recorder.of(StepStarted, refused.step_id)

    allowed = step_ready(
        shell,
        store,
        tmp_path,
        run_id="run-2",
        parameters={"word": "hello"},
        allow_host_containers=True,
    )
    await client.publish(allowed)
    done = await recorder.first(StepSucceeded, allowed.step_id)
    assert done.output_parameters == {"answer": 42}
    report = done.output_artifacts["report"][0]
    assert store.open_read(store.key_for(report.uri)).read() == b"hello\n"


async def test_timeout_kills_and_fails_the_step(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    step = step_ready(sleeper, store, tmp_path, parameters={"seconds": 60}, timeout_seconds=0.5)
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id)
    assert "ran longer than its timeout of 0.5 s and was killed" in failed.reason
    assert failed.exit_code == -15  # SIGTERM first, so it can clean up; SIGKILL 10 s later


async def test_file_input_outside_the_store_is_read_in_place(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    await trainer()
    source = tmp_path / "external.csv"
    source.write_text("a\nb\n")
    folder = tmp_path / "external-model"
    folder.mkdir()
    (folder / "w").write_text("1")
    step = step_ready(
        consume,
        store,
        tmp_path,
        artifacts={
            "rows": [ArtifactRef(uri=source.as_uri(), metadata={"rows": 2})],
            "model": [ArtifactRef(uri=folder.as_uri(), is_dir=True)],
        },
    )
    await client.publish(step)
    done = await recorder.first(StepSucceeded, step.step_id)
    assert done.output_parameters == {"Output": "2 rows, ['w'], 2"}
