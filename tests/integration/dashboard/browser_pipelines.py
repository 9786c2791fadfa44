"""The pipelines the dashboard's browser tests run. ``demo``, submitted from the UI, writes a
dataset (once the file ``gate`` exists, when one is given),
trains a "model" that it registers with a weak accuracy, and logs a confusion matrix, a ROC
curve, a Markdown report and some log lines.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

MODEL = "dash-model"
ACCURACY = 0.6


@dsl.component
def prepare(rows: int, gate: str, data: Output[Dataset]) -> None:
    import os
    import time

    # Held until the test opens the gate (a file), so it sees the step running.
    deadline = time.monotonic() + 120
    while gate and not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(data.path, "w") as f:
        f.write("x,label\n")
        for i in range(rows):
            f.write(f"{i},{i % 2}\n")
    for i in range(rows):
        print(f"prepared row {i}")


@dsl.component
def train(
    data: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    scores: Output[ClassificationMetrics],
    report: Output[Markdown],
) -> None:
    with open(data.path) as f:
        rows = len(f.readlines()) - 1
    with open(model.path, "w") as out:
        out.write(f"rows={rows}")
    model.metadata["headrace.register_model"] = "dash-model"
    metrics.log_metric("accuracy", 0.6)
    scores.log_confusion_matrix(["cat", "dog"], [[7, 3], [1, 9]])
    scores.log_roc_curve([0.0, 0.25, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])
    with open(report.path, "w") as f:
        f.write(f"# Training report\n\nTrained on **{rows}** rows.\n")
    print(f"trained on {rows} rows: accuracy 0.6")


@dsl.pipeline(name="dash-demo")
def demo(rows: int = 4, gate: str = "") -> None:
    data = prepare(rows=rows, gate=gate)
    train(data=data.outputs["data"])


@dsl.component
def double(x: int) -> int:
    return 2 * x


@dsl.component
def announce(text: str) -> None:
    print(text)


@dsl.pipeline(name="dash-groups")
def groups(threshold: int = 1) -> None:
    with dsl.ParallelFor(items=[1, 2]) as item:
        double(x=item)
    with dsl.If(threshold > 0):
        announce(text="above")


@dsl.component
def wait_long() -> None:
    import time

    print("started waiting", flush=True)
    time.sleep(300)  # until the run is cancelled


@dsl.pipeline(name="dash-slow")
def slow() -> None:
    first = wait_long()
    announce(text="after").after(first)
