"""The command line of ``headrace run prune``: argparse only, nothing heavy imported."""

from __future__ import annotations

import argparse
import re
from typing import Any

__all__ = ["add_prune_parser", "age_seconds"]

_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhdw]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def age_seconds(text: str) -> float:
    """An age: ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or plain seconds; positive."""
    found = _AGE.match(text.strip())
    seconds = float(found.group(1)) * _SECONDS[found.group(2)] if found else 0.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive age such as 30d, 12h, 90m, 45s or 2w, got {text!r}"
        )
    return seconds


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of runs (0 or more), got {text!r}"
        )
    return value


def add_prune_parser(
    actions: argparse._SubParsersAction[Any],
    where: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add ``prune`` to the ``headrace run`` actions (``where``: --home, --nats-url, ...)."""
    prune: argparse.ArgumentParser = actions.add_parser(
        "prune",
        parents=[where],
        help="remove finished runs by age and/or count",
        description="Remove finished runs (SUCCEEDED, FAILED, CANCELLED, REJECTED) from the "
        "metadata service: their run records and lineage (a run a registered model version "
        "came from keeps its lineage and artifacts). With neither --older-than nor --keep the "
        "service's HEADRACE_METADATA_RETAIN_* policy applies.",
    )
    prune.add_argument(
        "--older-than",
        metavar="AGE",
        type=age_seconds,
        help="runs that finished longer ago than AGE (30d, 12h, 90m, 2w)",
    )
    prune.add_argument(
        "--keep", metavar="N", type=_count, help="all but the newest N finished runs"
    )
    prune.add_argument(
        "--delete-artifacts",
        action="store_true",
        help="also delete each removed run's runs/<run_id>/ folder from the artifact store",
    )
    prune.add_argument("--dry-run", action="store_true", help="report only, remove nothing")
    prune.add_argument("--json", action="store_true", help="print the report as JSON")
    return prune
