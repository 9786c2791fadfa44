"""The body of ``headrace lineage`` (see :mod:`headrace.lineage_args`):
what an artifact, a step or a run came from and what came of it, asked of the metadata
service over the bus and printed as a tree (or JSON, or Graphviz DOT).

Exit codes: 0 shown, 1 the metadata service failed to answer, 2 nothing recorded under that
name, 3 no metadata service answers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from headrace_bus import NoResponders, RequestFailed
from headrace_contracts import GetLineage, LineageGraph

from .cli_query import NatsUnreachable, ask
from .lineage_render import render_dot, render_tree

__all__ = ["lineage", "lineage_query"]

EXIT_UNKNOWN = 2
EXIT_NO_PLATFORM = 3


def lineage_query(args: argparse.Namespace) -> GetLineage:
    """The query ``args`` ask: a target with ``://`` is an artifact URI, else RUN[/STEP]."""
    direction = "upstream" if args.upstream else "downstream" if args.downstream else "both"
    target: str = args.target
    where: dict[str, str] = {}
    if "://" in target:
        where["uri"] = target
    else:
        run_id, _, step_id = target.partition("/")
        where.update(run_id=run_id, step_id=step_id)
    return GetLineage(
        **where,
        direction=direction,
        hops=args.hops,
        artifact_types=args.artifact_type,
        execution_types=args.execution_type,
    )


def lineage(args: argparse.Namespace) -> int:
    """The body of ``headrace lineage``."""
    from .client import platform_nats_url

    url = args.nats_url or platform_nats_url(args.home)
    query = lineage_query(args)
    try:
        graph = asyncio.run(_graph(url, query, args.timeout))
    except NatsUnreachable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except NoResponders:
        _err(f"no metadata service answers on NATS at {url}: start the platform with `headrace up`")
        return EXIT_NO_PLATFORM
    except RequestFailed as exc:
        _err(f"the metadata service could not answer: {exc}")
        return 1
    if graph.error:
        _err(graph.error)
        return EXIT_UNKNOWN
    if args.json:
        print(graph.model_dump_json(indent=2))
    elif args.dot:
        print(render_dot(graph))
    else:
        print(render_tree(graph, query.direction))
    return 0


async def _graph(url: str, query: GetLineage, timeout: float) -> LineageGraph:
    reply = await ask(url, query, timeout)
    assert isinstance(reply, LineageGraph)
    return reply


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
