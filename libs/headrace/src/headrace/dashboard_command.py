"""``headrace dashboard [--print]``: the running platform's web dashboard, opened in the
browser (logged in with the local admin token ``headrace up`` keeps, when there is one) or
its URL printed, found from the metadata service's HTTP endpoint as ``headrace status``
shows it."""

from __future__ import annotations

import argparse
import asyncio
import sys
import webbrowser

from .commands import EXIT_NO_PLATFORM, EXIT_UNHEALTHY, platform_nats_url

EXIT_NO_DASHBOARD = 4


def add_dashboard_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], home: argparse.ArgumentParser
) -> None:
    dashboard = sub.add_parser(
        "dashboard", parents=[home], help="open the web dashboard of the running platform"
    )
    dashboard.add_argument(
        "--print", action="store_true", help="print its URL instead of opening a browser"
    )
    dashboard.add_argument(
        "--nats-url",
        metavar="URL",
        help="ask the services on this NATS server (default: the platform's, else "
        "$HEADRACE_NATS_URL)",
    )


def dashboard(args: argparse.Namespace) -> int:
    from .status import probe

    found = platform_nats_url(args)
    if found is None:
        return EXIT_NO_PLATFORM
    state, url = found
    status = asyncio.run(probe(state, url))
    if not status.nats_reachable:
        print(f"headrace: NATS at {url} does not answer: is the platform up?", file=sys.stderr)
        return EXIT_UNHEALTHY
    link = status.dashboard_url
    if link is None:
        print(
            f"headrace: no metadata service on {url} serves HTTP, so there is no dashboard: "
            "start the platform with `headrace up` (its metadata service serves it unless "
            "HEADRACE_METADATA_HTTP_ENABLED=false)",
            file=sys.stderr,
        )
        return EXIT_NO_DASHBOARD
    if args.print:
        print(link)
        return 0
    # The browser logs in on the way (the local admin token of `headrace up`) when this
    # home's platform keeps one; else it opens the dashboard, which asks for a token.
    target = _login_url(args) if state is not None else None
    if webbrowser.open(target or link):
        print(f"opened {link}" + (" (logged in as the local admin)" if target else ""))
    else:
        print(link)
    return 0


def _login_url(args: argparse.Namespace) -> str | None:
    from .dashboard_access import DashboardUnavailable, dashboard_login_url

    try:
        return dashboard_login_url(args.home)
    except DashboardUnavailable:
        return None
