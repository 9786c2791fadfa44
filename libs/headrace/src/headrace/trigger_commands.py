"""The bodies of ``headrace trigger ...`` (see :mod:`headrace.trigger_args`).

Exit codes: 0 done, 1 the scheduler could not answer, 2 refused or not found (a filter that
is not CEL, a parameter the pipeline lacks, an unknown trigger: the reason on stderr), 3 no
platform answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headrace_contracts import TriggerList, TriggerView
from headrace_pipelines import ROOT, SpecError, compile_plan, parse_text
from headrace_pipelines.event_cel import CelError, compile_filter

from .client import Client
from .run_errors import ClientError, PipelineLoadError, PlatformUnavailable
from .run_params import split_param
from .run_source import load_source
from .trigger_errors import InvalidTrigger, TriggerError

__all__ = ["trigger"]

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_NO_PLATFORM = 3


def trigger(args: argparse.Namespace) -> int:
    try:
        if args.trigger_command == "create" and args.filter:
            try:
                compile_filter(args.filter)  # before the file is read or anything is sent
            except CelError as exc:
                raise InvalidTrigger(f"--filter: {exc}") from None
        with Client(nats_url=args.nats_url, home=args.home, timeout=args.timeout) as client:
            return ACTIONS[args.trigger_command](client, args)
    except PlatformUnavailable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except (TriggerError, PipelineLoadError, ValueError, LookupError) as exc:
        _err(str(exc))
        return EXIT_REFUSED
    except ClientError as exc:
        _err(str(exc))
        return EXIT_FAILED


def _create(client: Client, args: argparse.Namespace) -> int:
    spec, platform = load_source(Path(args.file), pipeline_name=args.pipeline)
    view = client.create_trigger(
        args.name,
        spec,
        on=args.on,
        subject=args.subject,
        filter=args.filter,
        parameters=_parameters(args.param, spec, platform),
        namespace=args.namespace,
        enable_caching=not args.no_cache,
    )
    text = f"trigger {view.name} created: runs {view.pipeline_name} on {view.event_type}"
    _print(args, view.model_dump(), lambda: text)
    return 0


def _parameters(
    items: list[str], spec: dict[str, Any], platform: dict[str, Any] | None
) -> dict[str, Any]:
    """``-p`` values: a template stays text; a constant is typed as the pipeline declares."""
    try:
        declared = compile_plan(spec, platform).parameter_inputs(ROOT)
    except SpecError as exc:
        raise InvalidTrigger(str(exc)) from None
    values: dict[str, Any] = {}
    for item in items:
        name, text = split_param(item)
        if "{{" in text or name not in declared:
            values[name] = text  # a template, or a name the trigger check will refuse
            continue
        try:
            values[name] = parse_text(text, declared[name].get("parameterType", ""), name=name)
        except SpecError as exc:
            raise InvalidTrigger(str(exc)) from None
    return values


def _list(client: Client, args: argparse.Namespace) -> int:
    found = client.list_triggers(namespace=args.namespace)
    _print(args, found.model_dump(), lambda: render_triggers(found))
    return 0


def _get(client: Client, args: argparse.Namespace) -> int:
    view = client.get_trigger(args.name, namespace=args.namespace)
    _print(args, view.model_dump(), lambda: render_trigger(view))
    return 0


def _delete(client: Client, args: argparse.Namespace) -> int:
    client.delete_trigger(args.name, namespace=args.namespace)
    deleted = {"name": args.name, "namespace": args.namespace, "deleted": True}
    _print(args, deleted, lambda: f"trigger {args.name} deleted")
    return 0


ACTIONS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "create": _create,
    "list": _list,
    "get": _get,
    "delete": _delete,
}


def render_triggers(found: TriggerList) -> str:
    rows = [("NAME", "ON", "PIPELINE", "MATCHED", "RUNS", "REJECTED", "LAST ERROR")]
    for t in found.triggers:
        rows.append(
            (
                t.name,
                t.event_type,
                t.pipeline_name,
                str(t.events_matched),
                str(t.runs_started),
                str(t.events_rejected),
                _short(t.last_error) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip()
        for r in rows
    ]
    lines.append(f"external events no trigger took: {found.unmatched_events}")
    return "\n".join(lines)


def render_trigger(t: TriggerView) -> str:
    lines = [
        f"trigger:        {t.name} (namespace {t.namespace})",
        f"pipeline:       {t.pipeline_name}",
        f"on:             {t.event_type} on {t.subject}",
        f"filter:         {t.filter or '(every event)'}",
    ]
    for name, value in sorted(t.parameters.items()):
        lines.append(f"parameter:      {name} = {json.dumps(value)}")
    lines += [
        f"events matched: {t.events_matched} (filtered out: {t.events_filtered})",
        f"runs started:   {t.runs_started}"
        + (f" (last: {t.last_run_id})" if t.last_run_id else ""),
        f"rejected:       {t.events_rejected}",
    ]
    if t.last_error:
        lines.append(f"last error:     {t.last_error}")
    return "\n".join(lines)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2) if args.json else text())


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
