"""The options every command that talks to a running platform shares: where it is, and how
long to wait for the service that answers."""

from __future__ import annotations

import argparse
from typing import TypeVar

P = TypeVar("P", bound=argparse.ArgumentParser)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_platform_options(parser: P, *, answerer: str, timeout: float = 10.0) -> P:
    """Add ``--home``, ``--nats-url`` and ``--timeout`` (seconds to wait for ``answerer``)."""
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="the platform's home folder (default: $HEADRACE_HOME or ~/.headrace)",
    )
    parser.add_argument(
        "--nats-url",
        metavar="URL",
        help="the platform's NATS server (default: the running platform's, else "
        "$HEADRACE_NATS_URL, else nats://127.0.0.1:4222)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=timeout,
        metavar="S",
        help=f"seconds to wait for {answerer} to answer (default {timeout:g})",
    )
    return parser
