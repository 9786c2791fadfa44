"""The bodies of ``headrace env list|prune`` (see :mod:`headrace.env_args`): asked of the
trainer over the bus, since it knows which environments running steps use.

Exit codes: 0 done, 1 the trainer failed to answer, 2 a digest matches no environment,
3 no trainer answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from headrace_bus import NoResponders, RequestFailed
from headrace_contracts import (
    EnvironmentList,
    EnvironmentsPruned,
    ListEnvironments,
    PruneEnvironments,
    Query,
)

from .cli_query import NatsUnreachable, ask
from .env_render import render_environments, render_pruned

__all__ = ["env"]

EXIT_UNKNOWN = 2
EXIT_NO_PLATFORM = 3


def env(args: argparse.Namespace) -> int:
    """Dispatch ``headrace env <action>``."""
    from .client import platform_nats_url

    url = args.nats_url or platform_nats_url(args.home)
    query: Query
    if args.env_command == "list":
        query = ListEnvironments()
    else:
        query = PruneEnvironments(digests=args.digests, older_than_seconds=args.older_than)
    try:
        reply = asyncio.run(ask(url, query, args.timeout))
    except NatsUnreachable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except NoResponders:
        _err(f"no trainer answers on NATS at {url}: start the platform with `headrace up`")
        return EXIT_NO_PLATFORM
    except RequestFailed as exc:
        _err(f"the trainer could not answer: {exc}")
        return 1
    if isinstance(reply, EnvironmentList):
        views = reply.environments
        text = json.dumps([v.model_dump() for v in views], indent=2)
        print(text if args.json else render_environments(views))
        return 0
    assert isinstance(reply, EnvironmentsPruned)
    print(reply.model_dump_json(indent=2) if args.json else render_pruned(reply))
    for prefix in reply.unknown:
        _err(f"no single step environment matches {prefix!r}: list them with `headrace env list`")
    return EXIT_UNKNOWN if reply.unknown else 0


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
