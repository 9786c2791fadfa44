"""The bodies of ``headrace experiment ...`` (see :mod:`headrace.experiment_args`).

Exit codes: 0 done, 1 the tuner could not answer, 2 not found, 3 no platform answers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from .client import Client
from .job_commands import _guarded

__all__ = ["experiment"]


def experiment(args: argparse.Namespace) -> int:
    """Dispatch ``headrace experiment <action>``."""
    return _guarded(lambda client: ACTIONS[args.experiment_command](client, args), args)


def _list(client: Client, args: argparse.Namespace) -> int:
    from .experiment_render import render_experiments

    namespace = "" if args.all_namespaces else args.namespace
    found = client.list_experiments(namespace=namespace)
    _print(args, [e.model_dump() for e in found], lambda: render_experiments(found))
    return 0


def _get(client: Client, args: argparse.Namespace) -> int:
    from .experiment_render import render_experiment

    found = client.get_experiment(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: render_experiment(found))
    return 0


def _trials(client: Client, args: argparse.Namespace) -> int:
    from .experiment_render import render_trials

    found = client.get_experiment(args.name, namespace=args.namespace)
    _print(args, [t.model_dump() for t in found.trials], lambda: render_trials(found))
    return 0


def _delete(client: Client, args: argparse.Namespace) -> int:
    found = client.delete_experiment(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: f"experiment/{found.name} deleted")
    return 0


def _stop(client: Client, args: argparse.Namespace) -> int:
    found = client.stop_experiment(args.name, namespace=args.namespace, reason=args.reason)
    _print(
        args,
        found.model_dump(),
        lambda: f"experiment/{found.name} stopped ({found.trials_killed} running trial(s) killed)",
    )
    return 0


ACTIONS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "list": _list,
    "get": _get,
    "trials": _trials,
    "stop": _stop,
    "delete": _delete,
}


def _print(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2) if args.json else text())
