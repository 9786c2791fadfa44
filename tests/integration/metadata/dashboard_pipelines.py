"""The pipelines the dashboard API tests run: one that writes an artifact of each kind the
previews show, one whose step logs while it waits for a file (so its log is read during the
run), and one that sleeps (to be cancelled).

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Markdown, Metrics, Output


@dsl.component
def write_all(
    table: Output[Dataset],
    metrics: Output[Metrics],
    cm: Output[ClassificationMetrics],
    page: Output[HTML],
    notes: Output[Markdown],
    blob: Output[Artifact],
) -> None:
    with open(table.path, "w") as f:
        f.write("id,score\n")
        for i in range(30):
            f.write(f"{i},{i / 10}\n")
    metrics.log_metric("accuracy", 0.75)
    metrics.log_metric("loss", 0.5)
    cm.log_confusion_matrix(["cat", "dog"], [[5, 1], [2, 7]])
    cm.log_roc_curve([0.0, 0.5, 1.0], [0.0, 0.8, 1.0], [1.0, 0.5, 0.0])
    with open(page.path, "w") as f:
        f.write("<h1>report</h1>")
    with open(notes.path, "w") as f:
        f.write("# notes\n\nall good")
    with open(blob.path, "wb") as f:
        f.write(bytes(range(256)))


@dsl.pipeline(name="dash-artifacts")
def artifacts() -> None:
    write_all()


@dsl.component
def chatty(gate: str) -> str:
    import os
    import time

    print("first line", flush=True)
    for _ in range(1200):  # a minute at most
        if os.path.exists(gate):
            break
        time.sleep(0.05)
    print("last line", flush=True)
    return "done"


@dsl.pipeline(name="dash-chatty")
def talking(gate: str) -> str:
    return chatty(gate=gate).output


@dsl.component
def nap(seconds: int) -> int:
    import time

    time.sleep(seconds)
    return seconds


@dsl.pipeline(name="dash-nap")
def napping(seconds: int = 60) -> int:
    return nap(seconds=seconds).output
