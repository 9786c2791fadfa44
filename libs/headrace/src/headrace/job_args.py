"""The command line of ``headrace apply`` and ``headrace job``: argparse only.

    headrace apply -f FILE [--namespace NS] [--json] [--dry-run=kubernetes]
    headrace job list [--state STATE] [--all-namespaces] [--json]
    headrace job get NAME [--json]
    headrace job logs NAME [-f] [--replica ROLE-INDEX]
    headrace job delete NAME
    headrace job suspend NAME
    headrace job resume NAME

Every action takes ``--namespace NS`` (default ``default``), ``--home DIR``,
``--nats-url URL`` and ``--timeout S``.
"""

from __future__ import annotations

import argparse

from .cli_options import add_platform_options

__all__ = ["add_apply_parser", "add_job_parser"]


def _where() -> argparse.ArgumentParser:
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the trainer", timeout=10.0
    )
    where.add_argument("--namespace", "-n", default="default", metavar="NS", help="the namespace")
    where.add_argument("--json", action="store_true", help="print JSON")
    return where


def add_apply_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    apply = sub.add_parser(
        "apply",
        parents=[_where()],
        help="create training jobs, Katib experiments and KServe InferenceServices from YAML",
        description="Create the PyTorchJob, TFJob, TrainJob and Katib Experiment documents "
        "of FILE (one or many, separated by ---). Each replica runs its container's command "
        "and args on this machine, in the file's folder; an experiment's trials run as "
        "training jobs. A file of KServe InferenceService documents (serving.kserve.io/v1beta1) "
        "creates or changes those services (see `headrace serve`). An invalid file creates "
        "nothing: every problem is listed with its document and field, and the exit code is 2.",
    )
    apply.add_argument("-f", "--filename", required=True, metavar="FILE", help="the YAML file")
    apply.add_argument(
        "--dry-run",
        choices=["kubernetes"],
        default="",
        help="create nothing: print, as YAML, the objects the Kubernetes backend would "
        "create for each job (no platform or cluster needed)",
    )


def add_job_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = _where()
    job = sub.add_parser(
        "job",
        help="training jobs: list, get, logs, delete, suspend, resume",
        description="Training jobs created with `headrace apply`.",
    )
    actions = job.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[where], help="list jobs, newest first")
    listing.add_argument("--state", type=str.upper, default="", help="only jobs in this state")
    listing.add_argument(
        "--all-namespaces", "-A", action="store_true", help="jobs of every namespace"
    )
    get = actions.add_parser(
        "get", parents=[where], help="one job: conditions, replicas, exit codes, metrics"
    )
    get.add_argument("name", metavar="NAME")
    logs = actions.add_parser("logs", parents=[where], help="a replica's log")
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("-f", "--follow", action="store_true", help="follow until the job ends")
    logs.add_argument(
        "--replica", default="", metavar="ROLE-INDEX", help="e.g. worker-1 (default: the first)"
    )
    for action, what in (
        ("delete", "stop every replica and remove the job"),
        ("suspend", "stop every replica and keep the job"),
        ("resume", "start a suspended job's replicas again"),
    ):
        actions.add_parser(action, parents=[where], help=what).add_argument("name", metavar="NAME")
