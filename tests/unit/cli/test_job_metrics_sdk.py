"""`headrace.report_metrics` prints the line the trainer reads as metrics."""

from __future__ import annotations

import pytest

import headrace
from headrace_trainer.jobs.metrics import MetricLine, parse_metric_line


def test_report_metrics_prints_a_line_the_trainer_reads(capsys: pytest.CaptureFixture[str]) -> None:
    headrace.report_metrics(loss=0.25, accuracy=1, step=3)
    line = capsys.readouterr().out
    assert line == "headrace.metric loss=0.25 accuracy=1 step=3\n"
    assert parse_metric_line(line) == MetricLine({"loss": 0.25, "accuracy": 1.0, "step": 3.0}, 3)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "needs at least one metric"),
        ({"bad name": 1.0}, "metric name 'bad name' is not valid"),
        ({"loss": float("nan")}, "loss=nan is not a finite number"),
        ({"loss": "high"}, "loss='high' is not a finite number"),
        ({"ok": True}, "ok=True is not a finite number"),
    ],
)
def test_bad_metrics_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        headrace.report_metrics(**values)  # type: ignore[arg-type]
