"""The command line of ``headrace trigger``: argparse only, nothing heavy imported.

    headrace trigger create NAME FILE --on TYPE [--subject SUBJ] [--filter CEL]
                            [-p NAME='{{ expression }}' | -p NAME=VALUE]... [--pipeline P]
                            [--no-cache] [--json]
    headrace trigger list [--json]
    headrace trigger get NAME [--json]
    headrace trigger delete NAME

Every action takes ``--namespace NS`` (default ``default``), ``--home DIR``,
``--nats-url URL`` and ``--timeout S``.
"""

from __future__ import annotations

import argparse

from .cli_options import add_platform_options

__all__ = ["add_trigger_parser"]


def add_trigger_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the scheduler", timeout=10.0
    )
    where.add_argument("--namespace", default="default", metavar="NS", help="default: default")
    where.add_argument("--json", action="store_true", help="print JSON")
    trigger = sub.add_parser(
        "trigger",
        help="event triggers: a CloudEvent on headrace.ext.> starts a run",
        description="Event triggers (Argo Events sensors): every CloudEvent of a type, "
        "published by any system on a subject under headrace.ext., that passes the filter "
        "starts one run of the pipeline (docs/triggers.md).",
    )
    actions = trigger.add_subparsers(dest="trigger_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        parents=[where],
        help="start a run of FILE for every event of a type",
        description="Create trigger NAME: for every CloudEvent of type --on that passes "
        "--filter, start a run of FILE (compiled .yaml/.json, or a .py with a @dsl.pipeline). "
        "CEL in --filter and in '{{ }}' sees `attributes` (id, source, type, subject, time, "
        "extensions) and `data` (the event's JSON).",
    )
    create.add_argument("name", metavar="NAME", help="a DNS label, e.g. on-new-order")
    create.add_argument("file", metavar="FILE", help="compiled pipeline or .py file")
    create.add_argument("--on", required=True, metavar="TYPE", help="the CloudEvents type")
    create.add_argument(
        "--subject",
        default="headrace.ext.>",
        metavar="SUBJ",
        help="NATS subject under headrace.ext. (wildcards allowed; default headrace.ext.>)",
    )
    create.add_argument(
        "--filter", default="", metavar="CEL", help='e.g. "data.total > 100" (default: all)'
    )
    create.add_argument(
        "-p",
        "--param",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a pipeline parameter: '{{ data.id }}' (CEL, typed as CEL gives it), text "
        "around templates ('order-{{ data.id }}'), or a constant typed as the pipeline "
        "declares it; repeatable",
    )
    create.add_argument(
        "--pipeline", metavar="NAME", help="which pipeline of a .py file that defines several"
    )
    create.add_argument("--no-cache", action="store_true", help="its runs run every step anew")
    actions.add_parser("list", parents=[where], help="list triggers and their counters")
    get = actions.add_parser("get", parents=[where], help="show one trigger and its counters")
    get.add_argument("name", metavar="NAME")
    delete = actions.add_parser("delete", parents=[where], help="delete a trigger")
    delete.add_argument("name", metavar="NAME")
