"""The bodies of ``headrace serve ...`` and of ``headrace apply`` for InferenceServices (see
:mod:`headrace.serve_args`).

Exit codes: 0 done, 1 the service failed or the serving service could not answer, 2 refused or
not found (an invalid file, with every problem listed; an unknown service), 3 no platform
answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .client import Client
from .job_errors import ManifestRejected, TrainingJobError
from .run_errors import ClientError, PlatformUnavailable
from .serving import InferenceServiceFailedError, InferenceServiceTimeout, read_inference_services

__all__ = ["apply_inference_services", "serve"]

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
    except (
        InferenceServiceFailedError,
        InferenceServiceTimeout,
        TrainingJobError,
        ClientError,
    ) as exc:
        _err(str(exc))
        return EXIT_FAILED


def apply_inference_services(args: argparse.Namespace) -> int:
    """``headrace apply -f FILE`` of InferenceServices: checked before anything connects."""
    try:
        documents = read_inference_services(Path(args.filename), args.namespace)
    except ManifestRejected as exc:
        _err(str(exc))
        return EXIT_REFUSED
    if args.dry_run:
        from .dry_run import inference_service_manifests

        printed = inference_service_manifests([document for document, _ in documents])
        sys.stdout.write(printed.stdout)
        sys.stderr.write(printed.stderr)
        return EXIT_REFUSED if printed.returncode == EXIT_REFUSED else printed.returncode and 1

    def body(client: Client) -> int:
        applied = client.apply_inference_services(Path(args.filename), namespace=args.namespace)
        if args.json:
            print(json.dumps([view.model_dump() for view in applied], indent=2))
            return 0
        for view in applied:
            print(f"inferenceservice.serving.kserve.io/{view.name} applied ({view.state})")
            if view.state == "Failed":
                _err(f"InferenceService {view.namespace}/{view.name} failed: {view.error}")
        return 0

    return _guarded(body, args)


def serve(args: argparse.Namespace) -> int:
    """Dispatch ``headrace serve <action>``."""
    return _guarded(lambda client: ACTIONS[args.serve_command](client, args), args)


def _list(client: Client, args: argparse.Namespace) -> int:
    from .serve_render import render_services

    namespace = "" if args.all_namespaces else args.namespace
    found = client.list_inference_services(namespace=namespace)
    _print(args, [v.model_dump() for v in found], lambda: render_services(found))
    return 0


def _get(client: Client, args: argparse.Namespace) -> int:
    from .serve_render import render_service

    found = client.get_inference_service(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: render_service(found))
    return 0


def _wait(client: Client, args: argparse.Namespace) -> int:
    from .serve_render import render_service

    found = client.wait_inference_service(
        args.name, namespace=args.namespace, timeout=args.wait_timeout
    )
    _print(args, found.model_dump(), lambda: render_service(found))
    return 0


def _delete(client: Client, args: argparse.Namespace) -> int:
    found = client.delete_inference_service(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: f"inferenceservice/{found.name} deleted")
    return 0


def _traffic(client: Client, args: argparse.Namespace) -> int:
    found = client.shift_traffic(args.name, args.canary_percent, namespace=args.namespace)

    def text() -> str:
        split = ", ".join(f"{t.tag} {t.revision} {t.percent}%" for t in found.traffic)
        return f"inferenceservice/{found.name} traffic: {split}"

    _print(args, found.model_dump(), text)
    return 0


ACTIONS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "list": _list,
    "get": _get,
    "wait": _wait,
    "delete": _delete,
    "traffic": _traffic,
}


def _print(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2) if args.json else text())


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
