"""The command line of ``headrace experiment``: argparse only.

    headrace experiment list [--all-namespaces] [--json]
    headrace experiment get NAME [--json]       # state, best trial, a table of trials
    headrace experiment trials NAME [--json]    # the table of trials only
    headrace experiment stop NAME [--reason TEXT] [--json]   # end it now, STOPPED; kept
    headrace experiment delete NAME [--json]    # stop its trials and remove it

Every action takes ``--namespace NS`` (default ``default``), ``--home DIR``,
``--nats-url URL`` and ``--timeout S``. Experiments are created with ``headrace apply -f``.
"""

from __future__ import annotations

import argparse

from .cli_options import add_platform_options

__all__ = ["add_experiment_parser"]


def add_experiment_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the tuner", timeout=10.0
    )
    where.add_argument("--namespace", "-n", default="default", metavar="NS", help="the namespace")
    where.add_argument("--json", action="store_true", help="print JSON")
    experiment = sub.add_parser(
        "experiment",
        help="Katib experiments: list, get, trials, stop, delete",
        description="Hyperparameter-tuning experiments created with `headrace apply -f`.",
    )
    actions = experiment.add_subparsers(dest="experiment_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[where], help="list experiments, newest first")
    listing.add_argument(
        "--all-namespaces", "-A", action="store_true", help="experiments of every namespace"
    )
    for action, what in (
        ("get", "one experiment: its state, best trial and a table of its trials"),
        ("trials", "the experiment's trials: parameters, metrics and state"),
        ("delete", "stop the experiment's running trials and remove it"),
    ):
        actions.add_parser(action, parents=[where], help=what).add_argument("name", metavar="NAME")
    stop = actions.add_parser(
        "stop",
        parents=[where],
        help="end a running experiment now: no new trials, its running trials are killed; "
        "it stays, STOPPED, with its trials and best trial",
    )
    stop.add_argument("name", metavar="NAME")
    stop.add_argument(
        "--reason", default="stopped by user", metavar="TEXT", help="why (its message)"
    )
