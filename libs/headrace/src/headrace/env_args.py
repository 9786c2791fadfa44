"""The command line of ``headrace env``: argparse only, nothing heavy imported.

    headrace env list [--json]
    headrace env prune [DIGEST ...] [--older-than DURATION] [--json]

``list`` shows the Python environments the trainer built with uv for components'
``packages_to_install`` (cached under ``<home>/envs``): digest, size, created, last used,
whether a running step uses it, packages and where they came from. ``prune`` removes every one
no running step uses, only those named (a unique digest prefix), or only those unused for
``--older-than``. Every action takes ``--home DIR``, ``--nats-url URL`` and ``--timeout S``.
"""

from __future__ import annotations

import argparse
import re

from .cli_options import add_platform_options

__all__ = ["add_env_parser", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``45s``, ``30m``, ``12h``, ``7d`` or ``2w``; ValueError otherwise."""
    found = _DURATION.match(text.lower())
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(
            f"expected a positive duration such as 90s, 30m, 12h, 7d or 2w, got {text!r}"
        )
    return float(found.group(1)) * _UNITS[found.group(2)]


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_env_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``env`` and its actions to the ``headrace`` subparsers ``sub``."""
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the trainer", timeout=10.0
    )
    where.add_argument("--json", action="store_true", help="print JSON")
    env = sub.add_parser(
        "env",
        help="list and remove the Python environments built for steps' packages",
        description="The per-step Python environments the trainer built with uv for "
        "components' packages_to_install, cached under <home>/envs.",
    )
    actions = env.add_subparsers(dest="env_command", required=True, metavar="ACTION")
    actions.add_parser("list", parents=[where], help="show the cached environments")
    prune = actions.add_parser(
        "prune",
        parents=[where],
        help="remove cached environments no running step uses",
        description="Remove every cached environment no running step uses, or only those "
        "named (a unique digest prefix is enough), or only those unused for --older-than.",
    )
    prune.add_argument("digests", nargs="*", metavar="DIGEST")
    prune.add_argument(
        "--older-than",
        type=_duration,
        default=0.0,
        metavar="DURATION",
        help="only environments unused for this long (90s, 30m, 12h, 7d, 2w)",
    )
