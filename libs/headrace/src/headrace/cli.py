"""``headrace``: run the whole platform on one machine (``up``/``down``) and ask how it is
(``status``).

    headrace up [--home DIR] [--nats-url URL] [--database-url URL] [--artifacts URI]
                [--detach] [--scale SERVICE=N ...] [--timeout S]
    headrace down [--home DIR] [--timeout S]
    headrace status [--home DIR] [--nats-url URL] [--json]
    headrace dashboard [--home DIR] [--nats-url URL] [--print]
    headrace run submit|list|get|watch|cancel|logs ...   (see :mod:`headrace.run_args`)
    headrace env list|prune ...                           (see :mod:`headrace.env_args`)
    headrace model list|get|versions|register|promote ... (see :mod:`headrace.model_args`)
    headrace lineage URI|RUN[/STEP] ...                   (see :mod:`headrace.lineage_args`)
    headrace apply -f FILE ...                            (see :mod:`headrace.job_args`)
    headrace job list|get|logs|delete|suspend|resume ...  (see :mod:`headrace.job_args`)
    headrace schedule create|list|get|pause|resume|delete (see :mod:`headrace.schedule_args`)
    headrace experiment list|get|trials|delete ...        (see :mod:`headrace.experiment_args`)
    headrace serve list|get|wait|delete|traffic ...       (see :mod:`headrace.serve_args`)
    headrace trigger create|list|get|delete ...           (see :mod:`headrace.trigger_args`)
    headrace token create|list|revoke ...                 (see :mod:`headrace.token_args`)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import commands
from .cli_options import positive_seconds
from .dashboard_command import add_dashboard_parser
from .env_args import add_env_parser
from .experiment_args import add_experiment_parser
from .job_args import add_apply_parser, add_job_parser
from .lineage_args import add_lineage_parser
from .model_args import add_model_parser
from .run_args import add_run_parser
from .scale import SERVICES, ScaleError, parse_scale_item
from .schedule_args import add_schedule_parser
from .serve_args import add_serve_parser
from .token_args import add_token_parser
from .trigger_args import add_trigger_parser


def _scale_item(text: str) -> str:
    try:
        parse_scale_item(text)
    except ScaleError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument(
        "--home",
        metavar="DIR",
        help="the platform's home folder (default: $HEADRACE_HOME or ~/.headrace)",
    )
    parser = argparse.ArgumentParser(
        prog="headrace",
        description="Headrace: the Kubeflow platform as Python services on NATS.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser(
        "up",
        parents=[home],
        help="start the whole platform on this machine",
        description="Start nats-server (unless --nats-url) and every service "
        f"({', '.join(SERVICES)}), each as its own supervised process.",
    )
    up.add_argument(
        "--nats-url",
        metavar="URL",
        default=os.environ.get("HEADRACE_NATS_URL") or None,
        help="use this NATS server instead of starting one (default: $HEADRACE_NATS_URL)",
    )
    up.add_argument("--database-url", metavar="URL", help="SQLAlchemy URL for every service")
    up.add_argument("--artifacts", metavar="URI", help="artifact store root (file:// or s3://)")
    up.add_argument(
        "--detach", action="store_true", help="run in the background; return once healthy"
    )
    up.add_argument(
        "--scale",
        metavar="SERVICE=N",
        type=_scale_item,
        nargs="+",
        action="extend",
        default=[],
        help="run N replicas of SERVICE (default 1 each); repeatable",
    )
    up.add_argument(
        "--timeout",
        type=positive_seconds,
        default=60.0,
        metavar="S",
        help="seconds to wait for every replica to answer healthy (default 60)",
    )
    up.add_argument("--foreground-supervisor", action="store_true", help=argparse.SUPPRESS)

    down = sub.add_parser("down", parents=[home], help="stop the platform started by `up`")
    down.add_argument(
        "--timeout",
        type=positive_seconds,
        default=30.0,
        metavar="S",
        help="seconds to wait for a clean stop before killing (default 30)",
    )

    status = sub.add_parser("status", parents=[home], help="show each service's health")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument(
        "--nats-url",
        metavar="URL",
        help="ask the services on this NATS server (default: the platform's, else "
        "$HEADRACE_NATS_URL)",
    )
    add_dashboard_parser(sub, home)
    add_run_parser(sub)
    add_env_parser(sub)
    add_model_parser(sub)
    add_lineage_parser(sub)
    add_apply_parser(sub)
    add_job_parser(sub)
    add_experiment_parser(sub)
    add_serve_parser(sub)
    add_trigger_parser(sub)
    add_schedule_parser(sub)
    add_token_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "up":
            return commands.up(args)
        if args.command == "down":
            return commands.down(args)
        if args.command == "dashboard":
            from .dashboard_command import dashboard

            return dashboard(args)
        if args.command == "run":
            from .run_commands import run  # loads the bus and kfp's spec only when needed

            return run(args)
        if args.command == "env":
            from .env_commands import env

            return env(args)
        if args.command == "model":
            from .model_commands import model

            return model(args)
        if args.command == "apply" and _holds_inference_services(args.filename):
            from .serve_commands import apply_inference_services

            return apply_inference_services(args)
        if args.command == "serve":
            from .serve_commands import serve

            return serve(args)
        if args.command in ("apply", "job"):
            from . import job_commands

            return job_commands.apply(args) if args.command == "apply" else job_commands.job(args)
        if args.command == "experiment":
            from .experiment_commands import experiment

            return experiment(args)
        if args.command == "trigger":
            from .trigger_commands import trigger

            return trigger(args)
        if args.command == "schedule":
            from .schedule_commands import schedule

            return schedule(args)
        if args.command == "token":
            from .token_commands import token

            return token(args)
        if args.command == "lineage":
            from .lineage_commands import lineage

            return lineage(args)
        return commands.status(args)
    except KeyboardInterrupt:
        return 130


def _holds_inference_services(filename: str) -> bool:
    from pathlib import Path

    from .serving import holds_inference_services

    try:
        return holds_inference_services(Path(filename).read_text(encoding="utf-8"))
    except OSError:
        return False  # the job path says the file cannot be read


if __name__ == "__main__":
    sys.exit(main())
