"""Small kfp pipelines for the retention tests (compiled with the real kfp SDK)."""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output


@dsl.component
def make_data(data: Output[Dataset]) -> None:
    with open(data.path, "w") as f:
        f.write("1,2\n3,4\n")


@dsl.component
def fit(data: Input[Dataset], model: Output[Model]) -> None:
    with open(data.path) as f:
        rows = f.read()
    with open(model.path, "wb") as f:
        f.write(rows.encode())
    model.metadata["headrace.register_model"] = "kept-by-retention"


@dsl.pipeline(name="registering")
def registering() -> None:
    fit(data=make_data().outputs["data"])


@dsl.component
def wait_for_file(path: str) -> str:
    import os
    import time

    while not os.path.exists(path):
        time.sleep(0.05)
    return path


@dsl.pipeline(name="waiting")
def waiting(path: str) -> str:
    return wait_for_file(path=path).output


@dsl.component
def count_rows(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.read().splitlines())


@dsl.pipeline(name="producing")
def producing() -> int:
    return count_rows(data=make_data().outputs["data"]).output


@dsl.pipeline(name="importing")
def importing(uri: str) -> int:
    data = dsl.importer(artifact_uri=uri, artifact_class=Dataset)
    return count_rows(data=data.output).output
