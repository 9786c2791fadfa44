"""The bodies of ``headrace run ...``: a :class:`Client` and the renderers around it.

Exit codes: 0 done (``--watch``/``watch``: the run SUCCEEDED), 1 the run ended otherwise,
2 a bad request (unknown run, bad ``-p``, missing file, rejected spec), 3 no platform
answers. A user's mistake prints one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from headrace_contracts import RunView
from headrace_contracts.run_views import RUN_FINAL_STATES

from .client import Client, checked_plan
from .prune_command import prune
from .run_errors import BadListQuery, ClientError, PlatformUnavailable
from .run_params import parse_params
from .run_render import (
    render_detail,
    render_list,
    render_tree,
    state_changes,
)
from .run_source import load_file

EXIT_RUN_DID_NOT_SUCCEED = 1
EXIT_BAD_REQUEST = 2
EXIT_NO_PLATFORM = 3
CLOCK_SECONDS = 1.0  # how often a terminal's live tree is redrawn without news (its times)


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)


def _client(args: argparse.Namespace) -> Client:
    return Client(nats_url=args.nats_url, home=args.home, timeout=args.timeout)


def run(args: argparse.Namespace) -> int:
    """Dispatch ``headrace run <action>``; turn the client's errors into one line."""
    action = ACTIONS[args.run_command]
    try:
        return action(args)
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
        return EXIT_RUN_DID_NOT_SUCCEED


def submit(args: argparse.Namespace) -> int:
    spec, platform = load_file(Path(args.file), pipeline_name=args.pipeline)
    arguments = parse_params(args.param, checked_plan(spec))
    with _client(args) as client:
        run_id = client.submit(
            {"pipeline_spec": spec, "platform_spec": platform},
            arguments,
            run_id=args.run_id,
            display_name=args.name,
            experiment=args.experiment,
            enable_caching=not args.no_cache,
            allow_host_containers=args.allow_host_containers,
            labels=dict(args.label),
        )
        if not args.watch:
            print(json.dumps({"run_id": run_id}) if args.json else run_id)
            return 0
        if args.json:
            final = follow(client, run_id, sys.stderr)
            print(json.dumps(final.model_dump(mode="json"), indent=2))
        else:
            print(f"submitted {run_id}", flush=True)
            final = follow(client, run_id, sys.stdout)
    return 0 if final.state == "SUCCEEDED" else EXIT_RUN_DID_NOT_SUCCEED


def list_runs(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since >= args.until:
        _err(
            f"--since ({args.since.isoformat()}) is not before --until "
            f"({args.until.isoformat()}): no run can match; swap or widen them"
        )
        return EXIT_BAD_REQUEST
    with _client(args) as client:
        try:
            page = client.list_runs(
                state=args.state or "",
                experiment=args.experiment,
                limit=args.limit,
                pipeline=args.pipeline,
                labels=dict(args.label),
                created_after=args.since,
                created_before=args.until,
                sort=args.sort,
                ascending=args.asc,
                page_token=args.page_token,
            )
        except BadListQuery as exc:
            flag = "--page-token" if "page_token" in str(exc) else "run list"
            _err(f"{flag}: {exc}")
            return EXIT_BAD_REQUEST
    if args.json:
        print(json.dumps(page.model_dump(mode="json"), indent=2))
        return 0
    print("\n".join(render_list(page.runs, now=datetime.now(UTC))))
    if page.runs:
        print(f"{len(page.runs)} of {page.total} runs")
    if page.next_page_token:
        print(f"next page: --page-token {page.next_page_token}")
    return 0


def get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        view = client.get(args.run_id)
    if args.json:
        print(json.dumps(view.model_dump(mode="json"), indent=2))
    else:
        print("\n".join(render_detail(view, now=datetime.now(UTC))))
    return 0


def watch(args: argparse.Namespace) -> int:
    with _client(args) as client:
        final = follow(client, args.run_id, sys.stdout)
    return 0 if final.state == "SUCCEEDED" else EXIT_RUN_DID_NOT_SUCCEED


def cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        before = client.cancel(args.run_id, args.reason)
    if before.state in RUN_FINAL_STATES:
        print(f"run {args.run_id} has already ended ({before.state}); nothing to cancel")
    else:
        print(
            f"cancelling run {args.run_id} (it was {before.state}); follow it with "
            f"`headrace run watch {args.run_id}`"
        )
    return 0


def logs(args: argparse.Namespace) -> int:
    with _client(args) as client:
        text = client.logs(args.run_id, args.step_id)
    sys.stdout.write(text)
    return 0


ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "submit": submit,
    "list": list_runs,
    "get": get,
    "watch": watch,
    "cancel": cancel,
    "logs": logs,
    "prune": prune,
}


# the live view -------------------------------------------------------------------------


def follow(client: Client, run_id: str, out: TextIO) -> RunView:
    """Show the run until it ends; returns its last view.

    Woken by the run's events. On a terminal the step tree is redrawn in place (and every
    second, for its running times); otherwise each change is one line.
    """
    live = out.isatty()
    shown = 0
    before: RunView | None = None
    last: RunView | None = None
    for view in client.watch(run_id, interval=CLOCK_SECONDS if live else None):
        last = view
        if live:
            width = max(shutil.get_terminal_size().columns - 1, 20)
            lines = [line[:width] for line in render_tree(view, now=datetime.now(UTC))]
            if shown:
                out.write(f"\x1b[{shown}F\x1b[J")  # back to the first line, clear below
            out.write("\n".join(lines) + "\n")
            shown = len(lines)
        else:
            for line in state_changes(before, view):
                out.write(line + "\n")
        out.flush()
        before = view
    assert last is not None  # watch yields at least once
    return last
