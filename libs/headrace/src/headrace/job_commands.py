"""The bodies of ``headrace apply`` and ``headrace job ...`` (see :mod:`headrace.job_args`).

Exit codes: 0 done, 1 the trainer could not answer, 2 refused or not found (an invalid
file, with every problem listed; an unknown job; a job of that name with another spec),
3 no platform answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .client import Client
from .job_errors import TrainingJobError
from .run_errors import ClientError, PlatformUnavailable

__all__ = ["apply", "job"]

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_NO_PLATFORM = 3


def _guarded(body: Callable[[Client], int], args: argparse.Namespace) -> int:
    try:
        with Client(nats_url=args.nats_url, home=args.home, timeout=args.timeout) as client:
            return body(client)
    except PlatformUnavailable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except (ValueError, LookupError) as exc:
        _err(str(exc))
        return EXIT_REFUSED
    except (TrainingJobError, ClientError) as exc:
        _err(str(exc))
        return EXIT_FAILED


def apply(args: argparse.Namespace) -> int:
    """``headrace apply -f FILE``: the file is checked before anything connects."""
    from .job_client import read_documents
    from .job_errors import ManifestRejected

    try:
        _, experiments, _ = read_documents(_file(args.filename), args.namespace)
    except ManifestRejected as exc:
        _err(str(exc))
        return EXIT_REFUSED
    if args.dry_run == "kubernetes":
        if experiments:
            names = ", ".join(spec.name for _, spec in experiments)
            _err(
                f"{args.filename}: --dry-run=kubernetes prints training jobs only, and the file "
                f"holds the Experiment {names}: its trials become training jobs only once it "
                "runs; dry-run a file of jobs"
            )
            return EXIT_REFUSED
        return _dry_run(args)

    from .job_client import Applied

    def body(client: Client) -> int:
        applied = client.apply(_file(args.filename), namespace=args.namespace)
        if args.json:
            views = [a.job if isinstance(a, Applied) else a.experiment for a in applied]
            print(json.dumps([view.model_dump() for view in views], indent=2))
        for item in applied if not args.json else ():
            print(f"{item.resource} {'created' if item.created else 'unchanged'}")
            if item.created:
                _say_if_failed(item)
        return 0

    return _guarded(body, args)


def _say_if_failed(item: Any) -> None:
    """A job or experiment recorded FAILED at once (e.g. the service gave up on recording
    it) is created all the same, as kubectl would: its error goes to stderr."""
    from .job_client import Applied

    if isinstance(item, Applied):
        job = item.job
        if job.state == "FAILED":
            why = next((c.message for c in job.conditions if c.type == "Failed"), "")
            _err(f"training job '{job.namespace}/{job.name}' failed ({job.reason}): {why}")
        return
    found = item.experiment
    if found.state == "FAILED":
        _err(
            f"experiment '{found.namespace}/{found.name}' failed ({found.reason}): {found.message}"
        )


def _dry_run(args: argparse.Namespace) -> int:
    """``--dry-run=kubernetes``: print the objects, or the trainer's reasons it has none."""
    from .dry_run import kubernetes_manifests

    printed = kubernetes_manifests(_file(args.filename), args.namespace)
    sys.stdout.write(printed.stdout)
    sys.stderr.write(printed.stderr)
    return EXIT_REFUSED if printed.returncode == EXIT_REFUSED else (1 if printed.returncode else 0)


def job(args: argparse.Namespace) -> int:
    """Dispatch ``headrace job <action>``."""
    return _guarded(lambda client: ACTIONS[args.job_command](client, args), args)


def _list(client: Client, args: argparse.Namespace) -> int:
    from .job_render import render_jobs

    namespace = "" if args.all_namespaces else args.namespace
    jobs = client.list_jobs(namespace=namespace, state=args.state)
    _print(args, [j.model_dump() for j in jobs], lambda: render_jobs(jobs))
    return 0


def _get(client: Client, args: argparse.Namespace) -> int:
    from .job_render import render_job

    found = client.get_job(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: render_job(found))
    return 0


def _logs(client: Client, args: argparse.Namespace) -> int:
    for chunk in client.job_logs(
        args.name, replica=args.replica, follow=args.follow, namespace=args.namespace
    ):
        sys.stdout.write(chunk)
        sys.stdout.flush()
    return 0


def _delete(client: Client, args: argparse.Namespace) -> int:
    found = client.delete_job(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: f"{found.kind.lower()}/{found.name} deleted")
    return 0


def _suspend(client: Client, args: argparse.Namespace) -> int:
    found = client.suspend_job(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: f"{found.kind.lower()}/{found.name} suspended")
    return 0


def _resume(client: Client, args: argparse.Namespace) -> int:
    found = client.resume_job(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: f"{found.kind.lower()}/{found.name} resumed")
    return 0


ACTIONS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "list": _list,
    "get": _get,
    "logs": _logs,
    "delete": _delete,
    "suspend": _suspend,
    "resume": _resume,
}


def _file(name: str) -> Any:
    from pathlib import Path

    return Path(name)


def _print(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2) if args.json else text())


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
