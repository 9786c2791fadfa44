"""The bodies of ``headrace schedule ...`` over :class:`headrace.Client`.

Exit codes: 0 done, 2 a bad request (bad cron or interval, missing or unknown parameter,
unknown schedule, refused by the scheduler), 3 no platform answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from headrace_contracts import ScheduleView

from .client import Client, checked_plan
from .run_errors import ClientError, PlatformUnavailable
from .run_params import parse_params
from .run_source import load_file
from .schedule_client import check_timing

EXIT_BAD_REQUEST = 2
EXIT_NO_PLATFORM = 3


def schedule(args: argparse.Namespace) -> int:
    try:
        return ACTIONS[args.schedule_command](args)
    except PlatformUnavailable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except ClientError as exc:
        _err(str(exc))
        return EXIT_BAD_REQUEST
    except Exception as exc:
        if os.environ.get("HEADRACE_DEBUG"):
            raise
        _err(f"{type(exc).__name__}: {exc} (set HEADRACE_DEBUG=1 to see the traceback)")
        return 1


def create(args: argparse.Namespace) -> int:
    check_timing(args.cron, args.every)  # before loading (and maybe compiling) the pipeline
    spec, platform = load_file(Path(args.file), pipeline_name=args.pipeline)
    arguments = parse_params(args.param, checked_plan(spec))
    with _client(args) as client:
        view = client.create_schedule(
            args.name,
            {"pipeline_spec": spec, "platform_spec": platform} if platform else spec,
            arguments,
            cron=args.cron,
            every=args.every,
            max_concurrency=args.max_concurrency,
            catchup=args.catchup,
            start_at=args.start,
            end_at=args.end,
            namespace=args.namespace,
            experiment=args.experiment,
            enable_caching=not args.no_cache,
            allow_host_containers=args.allow_host_containers,
        )
    if args.json:
        _print_json(view)
    else:
        print(f"schedule {view.name} created: {_when(view)}, next tick {_at(view.next_fire_at)}")
    return 0


def list_schedules(args: argparse.Namespace) -> int:
    with _client(args) as client:
        found = client.list_schedules(namespace=args.namespace)
    if args.json:
        print(json.dumps(found.model_dump(mode="json"), indent=2))
        return 0
    rows = [("NAME", "STATE", "WHEN", "NEXT TICK", "FIRED", "ACTIVE", "LAST RUN")]
    rows += [
        (
            v.name,
            v.state,
            _when(v),
            _at(v.next_fire_at),
            str(v.fired_count),
            str(len(v.active_runs)),
            v.last_run_id or "-",
        )
        for v in found.schedules
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        view = client.get_schedule(args.name, namespace=args.namespace)
    if args.json:
        _print_json(view)
        return 0
    print(f"schedule   {view.namespace}/{view.name} ({view.state})")
    print(f"pipeline   {view.pipeline_name}  {json.dumps(view.arguments)}")
    print(
        f"when       {_when(view)}, max concurrency {view.max_concurrency}, "
        f"{'catch up' if view.catchup else 'no catch-up'}"
    )
    if view.start_at or view.end_at:
        print(f"window     {_at(view.start_at)} .. {_at(view.end_at)}")
    print(f"next tick  {_at(view.next_fire_at)}")
    print(f"fired      {view.fired_count} (last run {view.last_run_id or '-'})")
    print(f"active     {', '.join(view.active_runs) or '-'}")
    return 0


def _change(action: str) -> Callable[[argparse.Namespace], int]:
    def change(args: argparse.Namespace) -> int:
        with _client(args) as client:
            if action == "delete":
                client.delete_schedule(args.name, namespace=args.namespace)
                view = None
            else:
                call = client.pause_schedule if action == "pause" else client.resume_schedule
                view = call(args.name, namespace=args.namespace)
        if args.json:
            print(json.dumps(view.model_dump(mode="json") if view else {"deleted": args.name}))
        elif view is None:
            print(f"schedule {args.name} deleted")
        else:
            print(f"schedule {view.name} {view.state}, next tick {_at(view.next_fire_at)}")
        return 0

    return change


ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "create": create,
    "list": list_schedules,
    "get": get,
    "pause": _change("pause"),
    "resume": _change("resume"),
    "delete": _change("delete"),
}


def _client(args: argparse.Namespace) -> Client:
    return Client(nats_url=args.nats_url, home=args.home, timeout=args.timeout)


def _when(view: ScheduleView) -> str:
    return f"cron {view.cron!r}" if view.cron else f"every {view.every}"


def _at(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _print_json(view: ScheduleView) -> None:
    print(json.dumps(view.model_dump(mode="json"), indent=2))


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
