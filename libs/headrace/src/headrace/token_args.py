"""The command line of ``headrace token``: argparse only, nothing heavy imported.

    headrace token create NAME --role viewer|editor|admin [--expires DURATION]
                               [--description TEXT] [--json]
    headrace token list [--all] [--json]
    headrace token revoke NAME|ID

Every action takes ``--home DIR``, ``--nats-url URL`` and ``--timeout S``.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

from .cli_options import add_platform_options

__all__ = ["add_token_parser", "parse_duration"]

ROLES = ("viewer", "editor", "admin")  # headrace_contracts.access.ROLES, without the import
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^(\d+)([smhdw])$")


def parse_duration(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d``, ``2w`` or ``3600s`` as a timedelta; ArgumentTypeError
    otherwise."""
    found = _DURATION.match(text.strip().lower())
    if not found or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90m, 12h, 30d or 2w (a positive whole number and "
            f"one of s, m, h, d, w), got {text!r}"
        )
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def add_token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``token`` and its actions to the ``headrace`` subparsers ``sub``."""
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the metadata service", timeout=10.0
    )
    token = sub.add_parser(
        "token",
        help="access tokens of the HTTP API and dashboard",
        description="Tokens for the HTTP API and the dashboard: viewer reads, editor also "
        "submits, cancels and promotes, admin also manages tokens and reads the audit trail.",
    )
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", parents=[where], help="create a token and print its secret once"
    )
    create.add_argument("name", metavar="NAME", help="unique among the tokens in force")
    create.add_argument("--role", required=True, choices=ROLES, help="what the token may do")
    create.add_argument(
        "--expires",
        type=parse_duration,
        metavar="DURATION",
        help="expire after this long: 90m, 12h, 30d, 2w (default: never)",
    )
    create.add_argument("--description", default="", metavar="TEXT", help="what it is for")
    create.add_argument("--json", action="store_true", help="print JSON (secret included)")
    listed = actions.add_parser("list", parents=[where], help="list the tokens in force")
    listed.add_argument("--all", action="store_true", help="revoked tokens too")
    listed.add_argument("--json", action="store_true", help="print JSON")
    revoke = actions.add_parser("revoke", parents=[where], help="revoke a token")
    revoke.add_argument("token", metavar="NAME|ID")
