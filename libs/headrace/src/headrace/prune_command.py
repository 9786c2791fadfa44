"""The body of ``headrace run prune`` (see :mod:`headrace.prune_args`): ``PruneRuns`` asked
of the metadata service, its report printed."""

from __future__ import annotations

import argparse
import asyncio

from headrace_bus import NoResponders, RequestTimeout
from headrace_contracts import PruneReport, PruneRuns

from .cli_query import NatsUnreachable, ask
from .run_errors import ClientError, PlatformUnavailable

__all__ = ["prune", "render_report"]


def prune(args: argparse.Namespace) -> int:
    """Ask, print; a refusal (no policy, another replica pruning) is a :class:`ClientError`."""
    from .client import platform_nats_url

    url = args.nats_url or platform_nats_url(args.home)
    query = PruneRuns(
        older_than_seconds=args.older_than,
        keep=args.keep,
        delete_artifacts=args.delete_artifacts,
        dry_run=args.dry_run,
    )
    report = asyncio.run(_ask(url, query, args.timeout))
    if report.error:
        raise ClientError(report.error)
    print(report.model_dump_json(indent=2) if args.json else render_report(report))
    return 0


def render_report(report: PruneReport) -> str:
    verb = "would remove" if report.dry_run else "removed"
    lines = [f"{verb} {len(report.runs)} finished run{'' if len(report.runs) == 1 else 's'}"]
    lines += [f"  {run}" for run in report.runs]
    if report.kept_lineage:
        lines.append(
            "lineage and artifacts kept for registered models: " + ", ".join(report.kept_lineage)
        )
    lines.append(
        f"rows: {report.run_rows} runs, {report.step_rows} steps, "
        f"{report.lineage_executions} executions, {report.lineage_events} lineage events, "
        f"{report.lineage_artifacts} lineage artifacts, {report.artifact_rows} artifact records"
    )
    lines.append(f"artifact store folders {verb}: {report.stored_artifacts_deleted}")
    return "\n".join(lines)


async def _ask(url: str, query: PruneRuns, timeout: float) -> PruneReport:
    try:
        reply = await ask(url, query, timeout)
    except NatsUnreachable as exc:
        raise PlatformUnavailable(url, str(exc)) from None
    except NoResponders:
        raise PlatformUnavailable(
            url,
            f"no metadata service answers on NATS at {url}: start the platform with `headrace up`",
        ) from None
    except RequestTimeout:
        raise PlatformUnavailable(
            url,
            f"the metadata service on NATS at {url} did not answer within {timeout:g}s: "
            "raise --timeout, or check `headrace status`",
        ) from None
    assert isinstance(reply, PruneReport)
    return reply
