"""The command line of ``headrace lineage``: argparse only, nothing heavy imported.

    headrace lineage URI|RUN[/STEP] [--upstream|--downstream] [--hops N]
                     [--artifact-type TYPE ...] [--execution-type TYPE ...] [--json|--dot]

A target with ``://`` is an artifact URI; otherwise it is a run id, with ``/STEP`` for one
of its steps. Without ``--upstream`` or ``--downstream`` both sides are shown.
"""

from __future__ import annotations

import argparse

from .cli_options import positive_seconds

__all__ = ["add_lineage_parser"]


def _hops(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of hops from 1 to 100, got {text!r}"
        )
    return value


def add_lineage_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lineage`` to the ``headrace`` subparsers ``sub``."""
    parser = sub.add_parser(
        "lineage",
        help="show what an artifact, step or run came from and what came of it",
        description="The lineage graph of an artifact (its URI), one step (RUN/STEP) or every "
        "step of a run (RUN), as recorded by the metadata service.",
    )
    parser.add_argument("target", metavar="URI|RUN[/STEP]")
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--upstream", action="store_true", help="only what it came from")
    side.add_argument("--downstream", action="store_true", help="only what came of it")
    parser.add_argument(
        "--hops", type=_hops, default=5, metavar="N", help="edges to follow (default 5)"
    )
    parser.add_argument(
        "--artifact-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="keep only artifacts of this type, e.g. system.Model (repeatable)",
    )
    parser.add_argument(
        "--execution-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="keep only executions of this type (repeatable)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the graph as JSON")
    out.add_argument("--dot", action="store_true", help="print Graphviz DOT")
    parser.add_argument("--home", metavar="DIR", help="the platform's home folder")
    parser.add_argument("--nats-url", metavar="URL", help="the platform's NATS server")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=10.0,
        metavar="S",
        help="seconds to wait for the metadata service (default 10)",
    )
