"""The pipelines the HTTP API tests run: a training pipeline that registers its model and
evaluates it (one lineage chain dataset → train → model → evaluate), and a tiny one.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output


@dsl.component
def prepare(data: Output[Dataset]) -> None:
    with open(data.path, "w") as f:
        f.write("1,2\n3,4\n")


@dsl.component
def train(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics]) -> None:
    with open(data.path) as f, open(model.path, "w") as out:
        out.write(f"rows={len(f.readlines())}")
    model.metadata["headrace.register_model"] = "api-model"
    metrics.log_metric("accuracy", 0.97)


@dsl.component
def evaluate(model: Input[Model]) -> float:
    with open(model.path) as f:
        return float(f.read().split("=")[1])


@dsl.pipeline(name="api-training")
def training() -> None:
    data = prepare()
    evaluate(model=train(data=data.outputs["data"]).outputs["model"])


@dsl.component
def double(x: int) -> int:
    return 2 * x


@dsl.pipeline(name="api-doubling")
def doubling(x: int) -> int:
    return double(x=x).output
