"""The command line of ``headrace schedule``: argparse only.

    headrace schedule create NAME FILE (--cron EXPR | --every DURATION) [-p NAME=VALUE ...]
                             [--max-concurrency N] [--catchup | --no-catchup]
                             [--start TIME] [--end TIME] [--pipeline NAME]
                             [--experiment E] [--no-cache] [--allow-host-containers]
    headrace schedule list
    headrace schedule get NAME
    headrace schedule pause NAME
    headrace schedule resume NAME
    headrace schedule delete NAME

Every action takes ``--namespace NS`` (default ``default``), ``--json``, ``--home DIR``,
``--nats-url URL`` and ``--timeout S``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from .cli_options import add_platform_options

__all__ = ["add_schedule_parser"]


def _time(text: str) -> datetime:
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-12-24T18:00:00Z, got {text!r}"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100, got {text!r}")
    return value


def add_schedule_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the scheduler", timeout=10.0
    )
    where.add_argument("--namespace", "-n", default="default", metavar="NS", help="the namespace")
    where.add_argument("--json", action="store_true", help="print JSON")
    schedule = sub.add_parser(
        "schedule",
        help="recurring runs: create, list, get, pause, resume, delete",
        description="Recurring runs of a pipeline (KFP RecurringRun) on a cron expression or "
        "an interval; each run carries the label headrace.io/schedule=NAME.",
    )
    actions = schedule.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create",
        parents=[where],
        help="start a run of a pipeline at every tick",
        description="Start a run of the pipeline in FILE (compiled .yaml/.json, or a .py "
        "with a @dsl.pipeline) at every tick. --cron takes 5 fields (minute hour "
        "day-of-month month day-of-week) or 6 with seconds first, as KFP writes them; "
        "--every an interval such as 30s, 5m, 1h, 1d or 1h30m.",
    )
    create.add_argument("name", metavar="NAME", help="the schedule's name (a DNS label)")
    create.add_argument("file", metavar="FILE", help="the pipeline")
    when = create.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", default="", help="a cron expression")
    when.add_argument("--every", metavar="DURATION", default="", help="an interval")
    create.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline parameter, typed as the pipeline declares it (repeat)",
    )
    create.add_argument(
        "--max-concurrency",
        type=_count,
        default=1,
        metavar="N",
        help="runs of this schedule at once, 1-100 (default 1); further ticks wait",
    )
    create.add_argument(
        "--catchup",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after downtime run the missed ticks in order (at most 100), or with "
        "--no-catchup only the latest (default: catch up)",
    )
    create.add_argument("--start", type=_time, metavar="TIME", help="no tick before (ISO 8601)")
    create.add_argument("--end", type=_time, metavar="TIME", help="no tick after (ISO 8601)")
    create.add_argument("--pipeline", metavar="NAME", help="which pipeline of a .py file")
    create.add_argument("--experiment", default="Default", metavar="E", help="the runs' experiment")
    create.add_argument("--no-cache", action="store_true", help="run every step, cached or not")
    create.add_argument(
        "--allow-host-containers",
        action="store_true",
        help="run container components' commands on the host",
    )

    actions.add_parser("list", parents=[where], help="the schedules of the namespace")
    for action, text in (
        ("get", "one schedule, with its next tick and its runs not yet ended"),
        ("pause", "stop firing (ticks while paused are skipped)"),
        ("resume", "fire again from the next tick"),
        ("delete", "forget the schedule (its runs go on)"),
    ):
        parser = actions.add_parser(action, parents=[where], help=text)
        parser.add_argument("name", metavar="NAME", help="the schedule")
