"""Artifacts of every kind pass between real steps by URI through the artifact store."""

import json
from pathlib import Path

from kfp import dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)
from pipeline_harness import Platform, step

from headrace_artifacts import FileStore
from headrace_runtime import Settings


@dsl.component
def write_all(
    data: Output[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    cm: Output[ClassificationMetrics],
    page: Output[HTML],
    notes: Output[Markdown],
    folder: Output[Artifact],
) -> None:
    import os

    with open(data.path, "w") as f:
        f.write("a,b\n1,2\n")
    data.metadata["rows"] = 1
    with open(model.path, "wb") as f:
        f.write(b"\x00model")
    metrics.log_metric("accuracy", 0.75)
    cm.log_confusion_matrix(["a", "b"], [[1, 0], [0, 1]])
    with open(page.path, "w") as f:
        f.write("<h1>hi</h1>")
    with open(notes.path, "w") as f:
        f.write("# notes")
    os.makedirs(os.path.join(folder.path, "sub"))
    with open(os.path.join(folder.path, "sub", "part.txt"), "w") as f:
        f.write("part")


@dsl.component
def read_all(data: Input[Dataset], model: Input[Model], folder: Input[Artifact]) -> str:
    import os

    with open(data.path) as f:
        rows = f.read().splitlines()
    with open(model.path, "rb") as f:
        blob = f.read()
    with open(os.path.join(folder.path, "sub", "part.txt")) as f:
        part = f.read()
    return f"{len(rows)}|{blob!r}|{part}|{data.metadata.get('rows')}"


@dsl.pipeline
def artifacts_pipeline() -> str:
    made = write_all()
    return read_all(
        data=made.outputs["data"], model=made.outputs["model"], folder=made.outputs["folder"]
    ).output


async def test_artifacts_of_every_kind_and_directories(
    platform: Platform, settings: Settings
) -> None:
    run = await platform.run(artifacts_pipeline)
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == "2|b'\\x00model'|part|1"
    writer = step(run, "write-all")
    assert writer is not None
    refs = {name: found[0] for name, found in writer.output_artifacts.items()}
    assert refs["data"].schema_title == "system.Dataset"
    assert refs["model"].schema_title == "system.Model"
    assert refs["cm"].schema_title == "system.ClassificationMetrics"
    assert refs["page"].schema_title == "system.HTML"
    assert refs["notes"].schema_title == "system.Markdown"
    assert refs["metrics"].metadata == {"accuracy": 0.75}
    assert refs["cm"].metadata["confusionMatrix"]["rows"][0]["row"] == [1, 0]
    assert refs["folder"].is_dir
    assert refs["data"].digest.startswith("sha256:")
    store = FileStore(settings.home / "artifacts")
    assert store.exists(store.key_for(refs["notes"].uri))
    local = Path(store.key_for(refs["folder"].uri))
    assert (settings.home / "artifacts" / local / "sub" / "part.txt").read_text() == "part"


@dsl.component
def shard(i: int, out: Output[Dataset]) -> None:
    with open(out.path, "w") as f:
        f.write(str(i * i))


@dsl.component
def gather(parts: Input[list[Dataset]]) -> list:
    values = []
    for part in parts:
        with open(part.path) as f:
            values.append(int(f.read()))
    return values


@dsl.component
def size(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.read())


@dsl.pipeline
def fan_in_artifacts(xs: list = [1, 2, 3]) -> list:  # noqa: B006
    with dsl.ParallelFor(xs) as x:
        s = shard(i=x)
    return gather(parts=dsl.Collected(s.outputs["out"])).output


async def test_collected_artifacts_fan_in_in_order(platform: Platform) -> None:
    run = await platform.run(fan_in_artifacts, {"xs": [3, 1, 2]})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == [9, 1, 4]


async def test_importer_brings_an_existing_artifact_in(
    platform: Platform, settings: Settings
) -> None:
    store = FileStore(settings.home / "artifacts")
    source = settings.home / "outside.txt"
    source.write_text("12345")
    info = store.put_file(source, "datasets/outside.txt")

    @dsl.pipeline
    def imported(uri: str) -> int:
        data = dsl.importer(artifact_uri=uri, artifact_class=Dataset, metadata={"origin": "t"})
        return size(data=data.output).output

    run = await platform.run(imported, {"uri": info.uri})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == 5
    importer = step(run, "importer")
    assert importer is not None
    assert importer.output_artifacts["artifact"][0].uri == info.uri
    assert json.dumps(importer.output_artifacts["artifact"][0].metadata) == '{"origin": "t"}'


@dsl.pipeline
def shards(xs: list) -> list[Dataset]:
    with dsl.ParallelFor(xs) as x:
        s = shard(i=x)
    return dsl.Collected(s.outputs["out"])


@dsl.component
def add_up(xs: list) -> int:
    return sum(xs)


@dsl.pipeline
def loop_over_artifacts(xs: list = [2, 3, 4]) -> int:  # noqa: B006
    parts = shards(xs=xs)
    with dsl.ParallelFor(parts.output, parallelism=2) as part:
        n = size(data=part)
    return add_up(xs=dsl.Collected(n.output)).output


async def test_parallel_for_over_artifacts(platform: Platform) -> None:
    run = await platform.run(loop_over_artifacts, {"xs": [3, 10, 12]})
    assert run.state == "SUCCEEDED", run.error
    # sizes of "9", "100", "144"
    assert run.output_parameters["Output"] == 1 + 3 + 3
    loop = [s for s in run.steps if s.kind == "iteration" and s.parent == "for-loop-1"]
    assert len(loop) == 3
