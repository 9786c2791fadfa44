"""The bodies of ``headrace token ...`` (see :mod:`headrace.token_args`).

Exit codes: 0 done, 1 the metadata service could not answer, 2 refused (a name in use, an
unknown token: the reason on stderr), 3 no platform answers.
"""

from __future__ import annotations

import argparse
import json
import sys

from headrace_contracts import ApiTokenView

from .client import Client
from .run_errors import ClientError, PlatformUnavailable
from .token_client import TokenError

__all__ = ["render_tokens", "token"]

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_NO_PLATFORM = 3


def token(args: argparse.Namespace) -> int:
    """Dispatch ``headrace token <action>``; turn the client's errors into one line."""
    try:
        with Client(nats_url=args.nats_url, home=args.home, timeout=args.timeout) as client:
            if args.token_command == "create":
                return _create(client, args)
            if args.token_command == "revoke":
                revoked = client.revoke_token(args.token)
                print(f"Token {revoked.name!r} ({revoked.id}) revoked.")
                return 0
            tokens = client.list_tokens(include_revoked=args.all)
            if args.json:
                print(json.dumps([t.model_dump() for t in tokens], indent=2))
            else:
                print(render_tokens(tokens))
            return 0
    except PlatformUnavailable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except (TokenError, ValueError) as exc:
        _err(str(exc))
        return EXIT_REFUSED
    except ClientError as exc:
        _err(str(exc))
        return EXIT_FAILED


def _create(client: Client, args: argparse.Namespace) -> int:
    secret, made = client.create_token(
        args.name, args.role, expires_in=args.expires, description=args.description
    )
    if args.json:
        print(json.dumps({"secret": secret, "token": made.model_dump()}, indent=2))
        return 0
    expires = f", expires {made.expires_at}" if made.expires_at else ""
    print(f"Token {made.name!r} created (id {made.id}, role {made.role}{expires}).")
    print("Its secret, shown only now (only its SHA-256 is kept):\n")
    print(f"  {secret}\n")
    print(
        "Send it as `Authorization: Bearer TOKEN` to the HTTP API, or open the dashboard at "
        "/login?token=TOKEN."
    )
    return 0


def render_tokens(tokens: list[ApiTokenView]) -> str:
    if not tokens:
        return "No tokens: create one with `headrace token create NAME --role viewer`."
    rows = [("ID", "NAME", "ROLE", "CREATED", "EXPIRES", "REVOKED", "BY")]
    rows += [
        (
            t.id,
            t.name,
            t.role,
            t.created_at[:19],
            t.expires_at[:19] or "never",
            t.revoked_at[:19] or "-",
            t.created_by,
        )
        for t in tokens
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _err(message: str) -> None:
    print(f"headrace token: {message}", file=sys.stderr)
