"""The command line of ``headrace serve``: argparse only.

    headrace serve list [--namespace NS | --all-namespaces] [--json]
    headrace serve get NAME [--json]
    headrace serve wait NAME [--wait-timeout S] [--json]
    headrace serve delete NAME
    headrace serve traffic NAME --canary-percent N

Every action takes ``--namespace NS`` (default ``default``), ``--home DIR``,
``--nats-url URL`` and ``--timeout S``. InferenceServices are created with
``headrace apply -f FILE``.
"""

from __future__ import annotations

import argparse

from .cli_options import add_platform_options, positive_seconds

__all__ = ["add_serve_parser"]


def _percent(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a whole percentage from 0 to 100, got {text!r}")
    return value


def add_serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the serving service", timeout=10.0
    )
    where.add_argument("--namespace", "-n", default="default", metavar="NS", help="the namespace")
    where.add_argument("--json", action="store_true", help="print JSON")
    serve = sub.add_parser(
        "serve",
        help="InferenceServices: list, get, wait, delete, traffic",
        description="KServe InferenceServices created with `headrace apply -f FILE`.",
    )
    actions = serve.add_subparsers(dest="serve_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[where], help="list InferenceServices by name")
    listing.add_argument(
        "--all-namespaces", "-A", action="store_true", help="services of every namespace"
    )
    get = actions.add_parser(
        "get", parents=[where], help="one service: URL, revisions, traffic, replicas, error"
    )
    get.add_argument("name", metavar="NAME")
    wait = actions.add_parser(
        "wait", parents=[where], help="wait until the service is Ready (exit 0) or Failed (1)"
    )
    wait.add_argument("name", metavar="NAME")
    wait.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=300.0,
        metavar="S",
        help="seconds to wait for Ready or Failed (default 300)",
    )
    delete = actions.add_parser("delete", parents=[where], help="stop and remove the service")
    delete.add_argument("name", metavar="NAME")
    traffic = actions.add_parser(
        "traffic",
        parents=[where],
        help="move traffic to the canary revision (100 promotes it, 0 rolls it back)",
    )
    traffic.add_argument("name", metavar="NAME")
    traffic.add_argument(
        "--canary-percent", type=_percent, required=True, metavar="N", help="0 to 100"
    )
