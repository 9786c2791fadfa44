"""The command line of ``headrace run``: argparse only, nothing heavy imported.

    headrace run submit FILE [-p NAME=VALUE ...] [--no-cache] [--allow-host-containers]
                        [--run-id ID] [--name NAME] [--experiment E] [--pipeline NAME]
                        [--label KEY=VALUE ...] [--watch] [--json]
    headrace run list [--state S] [--pipeline P] [--experiment E] [--label KEY=VALUE ...]
                      [--since T] [--until T] [--sort created|finished|duration] [--asc]
                      [--limit N] [--page-token T] [--json]
    headrace run get RUN [--json]
    headrace run watch RUN
    headrace run cancel RUN [--reason TEXT]
    headrace run logs RUN [STEP]

Every action takes ``--home DIR`` and ``--nats-url URL`` to find the platform (default:
the one ``headrace up`` started, else ``$HEADRACE_NATS_URL``).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from .cli_options import add_platform_options
from .prune_args import add_prune_parser

RUN_STATES = ("PENDING", "RUNNING", "CANCELLING", "SUCCEEDED", "FAILED", "CANCELLED", "REJECTED")
RUN_SORTS = ("created", "finished", "duration")
_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class OneLineParser(argparse.ArgumentParser):
    """Says what is wrong in one line (``headrace run list: argument --sort: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _sort(text: str) -> str:
    if text not in RUN_SORTS:
        raise argparse.ArgumentTypeError(f"unknown sort {text!r}: sort by {', '.join(RUN_SORTS)}")
    return text


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE, got {text!r}: e.g. --label team=vision (repeat to AND them)"
        )
    return key.strip(), value


def _when(text: str) -> datetime:
    """An ISO 8601 date or time (UTC unless it names a zone), or an age: 30m, 2h, 7d."""
    ago = _AGO.match(text.strip())
    if ago:
        return datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time (2026-12-01 or 2026-12-01T09:30:00+01:00) or an age "
            f"(30m, 2h, 7d), got {text!r}"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _state(text: str) -> str:
    state = text.upper()
    if state not in RUN_STATES:
        raise argparse.ArgumentTypeError(
            f"unknown run state {text!r} (states: {', '.join(RUN_STATES)})"
        )
    return state


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 10000, got {text!r}")
    return value


def add_run_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add ``run`` and its actions to the ``headrace`` subparsers ``sub``."""
    where = add_platform_options(
        OneLineParser(add_help=False), answerer="NATS and the scheduler", timeout=5.0
    )
    run = sub.add_parser(
        "run",
        help="submit, follow and cancel pipeline runs",
        description="Submit KFP v2 pipelines to the scheduler and follow their runs.",
    )
    actions = run.add_subparsers(
        dest="run_command", required=True, metavar="ACTION", parser_class=OneLineParser
    )

    submit = actions.add_parser(
        "submit",
        parents=[where],
        help="start a run of a pipeline",
        description="Start a run of FILE: kfp's compiled .yaml/.yml/.json, or a .py that "
        "defines a @dsl.pipeline (compiled here first). Prints the run id.",
    )
    submit.add_argument("file", metavar="FILE", help="compiled pipeline or .py file")
    submit.add_argument(
        "-p",
        "--param",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a pipeline parameter, typed as the pipeline declares it (lists and dicts as "
        "JSON), or an input artifact's URI (file:///abs/path, s3://bucket/key); repeatable",
    )
    submit.add_argument("--no-cache", action="store_true", help="run every step anew")
    submit.add_argument(
        "--allow-host-containers",
        action="store_true",
        help="run container components' commands on this host",
    )
    submit.add_argument("--run-id", metavar="ID", help="the run's id (default: made up)")
    submit.add_argument("--name", metavar="NAME", default="", help="a display name")
    submit.add_argument("--experiment", metavar="E", default="Default", help="default: Default")
    submit.add_argument(
        "--pipeline", metavar="NAME", help="which pipeline of a .py file that defines several"
    )
    submit.add_argument(
        "--label",
        metavar="KEY=VALUE",
        type=_label,
        action="append",
        default=[],
        help="a label of the run, to find it by (`run list --label`); repeatable",
    )
    submit.add_argument(
        "--watch", action="store_true", help="follow the run; exit 0 only if it succeeds"
    )
    submit.add_argument("--json", action="store_true", help="print JSON")

    listing = actions.add_parser(
        "list",
        parents=[where],
        help="list runs, newest first",
        description="List runs matching every filter given, one page at a time; prints the "
        "total and the token of the next page.",
    )
    listing.add_argument("--state", type=_state, help="only runs in this state")
    listing.add_argument("--pipeline", metavar="P", default="", help="only this pipeline")
    listing.add_argument("--experiment", metavar="E", default="", help="only this experiment")
    listing.add_argument(
        "--label",
        metavar="KEY=VALUE",
        type=_label,
        action="append",
        default=[],
        help="only runs with this label; repeatable (all must match)",
    )
    listing.add_argument(
        "--since", metavar="T", type=_when, help="created at or after T (ISO 8601, or 2h, 7d)"
    )
    listing.add_argument("--until", metavar="T", type=_when, help="created before T")
    listing.add_argument(
        "--sort",
        type=_sort,
        default="created",
        metavar="FIELD",
        help="created (default), finished or duration; newest/longest first",
    )
    listing.add_argument("--asc", action="store_true", help="oldest/shortest first")
    listing.add_argument("--limit", type=_limit, default=50, metavar="N", help="default 50")
    listing.add_argument(
        "--page-token", metavar="T", default="", help="the next page of an earlier listing"
    )
    listing.add_argument(
        "--json", action="store_true", help="print {runs, total, next_page_token} as JSON"
    )

    get = actions.add_parser("get", parents=[where], help="show a run and its steps")
    get.add_argument("run_id", metavar="RUN")
    get.add_argument("--json", action="store_true", help="print the run as JSON")

    watch = actions.add_parser(
        "watch", parents=[where], help="follow a run until it ends (exit 0 if it succeeds)"
    )
    watch.add_argument("run_id", metavar="RUN")

    cancel = actions.add_parser("cancel", parents=[where], help="cancel a run")
    cancel.add_argument("run_id", metavar="RUN")
    cancel.add_argument("--reason", default="cancelled by user", help=argparse.SUPPRESS)

    logs = actions.add_parser("logs", parents=[where], help="print a step's log, or every step's")
    logs.add_argument("run_id", metavar="RUN")
    logs.add_argument(
        "step_id", metavar="STEP", nargs="?", help="a step id, e.g. train or for-loop-2[0]/add"
    )
    add_prune_parser(actions, where)
    return run
