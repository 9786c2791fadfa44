"""``headrace.report_metrics``: metrics from code running inside a training job.

It prints one line, ``headrace.metric name=value ...``, to standard output; the trainer
reads the coordinating replica's output (Master, Chief, worker 0 or node 0), so each value
becomes a ``MetricReported`` event of the job and shows in ``headrace job get``. Plain
``name=value`` lines printed by any other means count as well. Outside a job the line is
just printed.
"""

from __future__ import annotations

import math
import re
import sys

__all__ = ["report_metrics"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$")


def report_metrics(*, step: int | None = None, **values: float) -> None:
    """Report scalar metrics, e.g. ``report_metrics(loss=0.21, accuracy=0.93, step=3)``.

    Names are letters, digits, ``_``, ``.``, ``-``, ``/`` (starting with a letter or ``_``);
    values are finite numbers. ``step`` (an epoch or iteration) goes with them."""
    if not values:
        raise ValueError("report_metrics() needs at least one metric, e.g. loss=0.21")
    words = []
    for name, value in values.items():
        if not _NAME.match(name):
            raise ValueError(f"metric name {name!r} is not valid: use letters, digits and _")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"metric {name}={value!r} is not a finite number")
        words.append(f"{name}={value!r}" if isinstance(value, float) else f"{name}={value}")
    if step is not None:
        words.append(f"step={int(step)}")
    print("headrace.metric " + " ".join(words), file=sys.stdout, flush=True)
