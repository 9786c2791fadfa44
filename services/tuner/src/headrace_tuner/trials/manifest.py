"""A trial's training-job manifest (pure): the experiment's trial template rendered with
the trial's parameters, and annotations that tell the trainer how to read its metrics.

* Every value is reported (``headrace.io/metrics-interval: "0"``): the min/max strategies
  and the pruner need each one, not the trainer's once-a-second sample.
* A StdOut collector reads Katib's way: its ``metricsFormat`` regexes, or Katib's default
  (``name=value`` anywhere in a line); a Push collector leaves the trainer's own format,
  which reads ``headrace.report_metrics`` lines.
"""

from __future__ import annotations

import json
from typing import Any

from headrace_contracts.kubeflow import DEFAULT_METRICS_FORMAT, ExperimentSpec, render_trial
from headrace_contracts.training import METRICS_FORMAT_ANNOTATION, METRICS_INTERVAL_ANNOTATION

__all__ = ["trial_manifest"]


def trial_manifest(
    spec: ExperimentSpec, name: str, namespace: str, values: dict[str, str]
) -> dict[str, Any]:
    manifest = render_trial(spec.trial_template, name, namespace, values)
    metadata = manifest["metadata"]
    annotations = dict(metadata.get("annotations") or {})
    annotations[METRICS_INTERVAL_ANNOTATION] = "0"
    collector = spec.metrics_collector
    if collector.kind == "StdOut":
        formats = list(collector.metrics_format or (DEFAULT_METRICS_FORMAT,))
        annotations[METRICS_FORMAT_ANNOTATION] = json.dumps(formats)
    metadata["annotations"] = annotations
    return manifest
