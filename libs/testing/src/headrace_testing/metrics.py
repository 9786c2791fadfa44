"""Reading metrics in tests: a service's Prometheus endpoint, as Prometheus would, and an
in-memory reader's data points."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample the endpoint at ``url`` shows: (name, labels) -> value."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    """The one sample ``name`` whose labels include ``labels``; None if there is none."""
    wanted = set(labels.items())
    found = [v for (n, have), v in samples.items() if n == name and wanted <= have]
    if len(found) > 1:
        raise AssertionError(f"{len(found)} samples {name} with {labels}: name more labels")
    return found[0] if found else None


def data_points(reader: InMemoryMetricReader) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every data point ``reader`` collects now: (instrument name, attributes, point)."""
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    yield metric.name, dict(point.attributes or {}), point
