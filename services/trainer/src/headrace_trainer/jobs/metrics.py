"""Metrics in a replica's output, and how often they are reported (pure).

By default a line reports metrics when every whitespace-separated word of it is ``name=number``
(``epoch=3 loss=0.21``), optionally after the marker ``headrace.metric`` that
``headrace.report_metrics`` prints. Names start with a letter or ``_`` and hold letters,
digits, ``_``, ``.``, ``-`` and ``/``. An ``epoch`` or ``step`` word is reported too, and is
the step of the line's other metrics.

A job may give its own regular expressions instead (a Katib ``metricsFormat``, through the
``headrace.io/metrics-format`` annotation): every match of group 1 (name) and group 2 (value)
anywhere in a line is a metric.

`MetricGate` keeps reports sensible: a metric is reported when its value changed, at most
once per ``interval`` seconds; a value held back meanwhile goes out with the next report
(or at `MetricGate.flush`, when the log ends), so the last value is always reported.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headrace_contracts.training import METRICS_FORMAT_ANNOTATION, METRICS_INTERVAL_ANNOTATION

__all__ = [
    "MARKER",
    "MetricGate",
    "MetricLine",
    "metric_options",
    "parse_metric_formats",
    "parse_metric_line",
]

MARKER = "headrace.metric"
_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-/]{0,127})=(\S+)$")
_STEP_NAMES = ("step", "epoch")


@dataclass(frozen=True)
class MetricLine:
    values: dict[str, float]
    step: int | None = None


def parse_metric_line(line: str) -> MetricLine | None:
    """The metrics ``line`` reports, or None when it is not a metrics line."""
    words = line.split()
    if words and words[0] == MARKER:
        words = words[1:]
    if not words:
        return None
    values: dict[str, float] = {}
    for word in words:
        match = _WORD.match(word)
        if match is None:
            return None
        try:
            value = float(match.group(2))
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        values[match.group(1)] = value
    step = next(
        (int(values[name]) for name in _STEP_NAMES if name in values and values[name].is_integer()),
        None,
    )
    return MetricLine(values, step)


def metric_options(
    manifest: Mapping[str, Any],
) -> tuple[tuple[re.Pattern[str], ...], float | None]:
    """A job's custom metric formats and report interval, from its annotations (see
    ``headrace_contracts.training``); unreadable ones are ignored (the default applies)."""
    metadata = manifest.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return (), None
    formats: list[re.Pattern[str]] = []
    try:
        given = json.loads(str(annotations.get(METRICS_FORMAT_ANNOTATION, "[]")))
        formats = [re.compile(str(p)) for p in given] if isinstance(given, list) else []
    except (ValueError, re.error):
        formats = []
    interval: float | None = None
    try:
        if METRICS_INTERVAL_ANNOTATION in annotations:
            interval = max(0.0, float(annotations[METRICS_INTERVAL_ANNOTATION]))
    except (TypeError, ValueError):
        interval = None
    return tuple(formats), interval


def parse_metric_formats(line: str, formats: tuple[re.Pattern[str], ...]) -> MetricLine | None:
    """The metrics ``line`` reports by custom ``formats`` (a Katib ``metricsFormat``: group 1
    the name, group 2 the value, matched anywhere, every match counted), or None."""
    values: dict[str, float] = {}
    for pattern in formats:
        for match in pattern.finditer(line):
            try:
                value = float(match.group(2))
            except (IndexError, TypeError, ValueError):
                continue
            if math.isfinite(value):
                values[match.group(1)] = value
    if not values:
        return None
    step = next(
        (int(values[name]) for name in _STEP_NAMES if name in values and values[name].is_integer()),
        None,
    )
    return MetricLine(values, step)


@dataclass
class MetricGate:
    """Which metric values to report now (see the module docstring); ``now`` in seconds."""

    interval: float = 1.0
    latest: dict[str, float] = field(default_factory=dict)
    _sent: dict[str, tuple[float, float]] = field(default_factory=dict)  # value, when
    _held: dict[str, tuple[float, int | None]] = field(default_factory=dict)

    def offer(self, line: MetricLine, now: float) -> list[tuple[str, float, int | None]]:
        """The (name, value, step) triples to report for ``line`` (and any held back ones
        whose time has come)."""
        for name, value in line.values.items():
            self.latest[name] = value
            self._held[name] = (value, line.step)
        return self._due(now)

    def flush(self) -> list[tuple[str, float, int | None]]:
        """Every value still held back."""
        return self._due(math.inf)

    def _due(self, now: float) -> list[tuple[str, float, int | None]]:
        out: list[tuple[str, float, int | None]] = []
        for name, (value, step) in list(self._held.items()):
            sent = self._sent.get(name)
            if sent is not None and sent[0] == value:
                del self._held[name]
                continue
            if sent is not None and now - sent[1] < self.interval:
                continue
            out.append((name, value, step))
            self._sent[name] = (value, now if math.isfinite(now) else sent[1] if sent else 0.0)
            del self._held[name]
        return out
