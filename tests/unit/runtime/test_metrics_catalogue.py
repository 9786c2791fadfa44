"""The Grafana dashboard and docs/observability.md name only metrics the code makes, and the
docs name all of them (each is scraped or read in the integration tests that make it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).parents[3]
SOURCES = [
    ROOT / "libs/runtime/src/headrace_runtime/metrics.py",
    ROOT / "services/metadata/src/headrace_metadata/run_metrics.py",
    ROOT / "services/trainer/src/headrace_trainer/app.py",
    ROOT / "services/serving/src/headrace_serving/router/metrics.py",
]
SUFFIXES = ("_total", "_seconds_bucket", "_seconds_count", "_seconds_sum", "_seconds")


def made() -> set[str]:
    """The Prometheus names of every instrument the sources create."""
    names = set()
    for source in SOURCES:
        text = source.read_text()
        for kind, name, unit in re.findall(
            r'create_(counter|histogram|observable_gauge|observable_counter)\(\s*"([a-z_.]+)"'
            r'(?:.*?unit="([^"]*)")?',
            text,
            flags=re.S,
        ):
            base = name.replace(".", "_")
            if unit == "s":
                base += "_seconds"
            names.add(base + "_total" if kind.endswith("counter") else base)
    return names


def base(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        name = name.removesuffix(suffix)
    return name


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/headrace.json").read_text())
    queried = {
        base(name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bheadrace_[a-z_]+", target["expr"])
    }
    assert queried <= made(), queried - made()
    assert len(made()) == 12
    assert queried == made()  # every metric has a panel


def test_the_docs_list_every_metric() -> None:
    documented = set(
        re.findall(r"^\| `(headrace_[a-z_]+)`", (ROOT / "docs/observability.md").read_text(), re.M)
    )
    assert documented == made()
