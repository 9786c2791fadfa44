"""The bodies of ``headrace model ...`` (see :mod:`headrace.model_args`): a :class:`Client`
and the renderers around it.

Exit codes: 0 done, 1 the metadata service could not answer, 2 refused or not found (an
unknown model, a promotion refused, an invalid ``--require``: the reason on stderr),
3 no platform answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .client import Client
from .model_client import check_requirement
from .model_errors import ModelRegistryError
from .model_render import render_model, render_models, render_promoted, render_versions
from .run_errors import ClientError, PlatformUnavailable

__all__ = ["model"]

EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_NO_PLATFORM = 3


def model(args: argparse.Namespace) -> int:
    """Dispatch ``headrace model <action>``; turn the client's errors into one line."""
    try:
        if args.model_command == "promote" and args.require:
            check_requirement(args.require)  # before anything is sent
        with Client(nats_url=args.nats_url, home=args.home, timeout=args.timeout) as client:
            return ACTIONS[args.model_command](client, args)
    except PlatformUnavailable as exc:
        _err(str(exc))
        return EXIT_NO_PLATFORM
    except (ModelRegistryError, ValueError, LookupError) as exc:
        _err(str(exc))
        return EXIT_REFUSED
    except ClientError as exc:
        _err(str(exc))
        return EXIT_FAILED


def _list(client: Client, args: argparse.Namespace) -> int:
    models = client.list_models(namespace=args.namespace)
    _print(args, [m.model_dump() for m in models], lambda: render_models(models))
    return 0


def _get(client: Client, args: argparse.Namespace) -> int:
    found = client.get_model(args.name, namespace=args.namespace)
    _print(args, found.model_dump(), lambda: render_model(found))
    return 0


def _versions(client: Client, args: argparse.Namespace) -> int:
    versions = client.list_model_versions(
        args.name, state=args.state or "", namespace=args.namespace
    )
    _print(args, [v.model_dump() for v in versions], lambda: render_versions(versions))
    return 0


def _register(client: Client, args: argparse.Namespace) -> int:
    metrics: dict[str, float] = {}
    for key, value in args.metric:
        try:
            metrics[key] = float(value)
        except ValueError:
            raise ModelRegistryError(
                f"--metric {key}={value}: {value!r} is not a number (e.g. {key}=0.97)"
            ) from None
    version = client.register_model(
        args.name,
        args.uri,
        digest=args.digest,
        framework=args.framework,
        metrics=metrics,
        properties={key: _json_or_text(value) for key, value in args.property},
        labels=dict(args.label),
        description=args.description,
        tags=args.tag,
        run_id=args.run_id,
        step_id=args.step_id,
        namespace=args.namespace,
    )
    text = f"{version.model_name} version {version.version}: {version.uri}"
    _print(args, version.model_dump(), lambda: text)
    return 0


def _promote(client: Client, args: argparse.Namespace) -> int:
    promoted = client.promote_model(
        args.name, args.version, args.alias, require=args.require, namespace=args.namespace
    )
    _print(args, promoted.model_dump(), lambda: render_promoted(promoted))
    return 0


def _archive(client: Client, args: argparse.Namespace) -> int:
    client.archive_model_version(args.name, args.version, namespace=args.namespace)
    text = f"{args.name} version {args.version} archived"
    _print(
        args, {"model_name": args.name, "version": args.version, "state": "ARCHIVED"}, lambda: text
    )
    return 0


def _resolve(client: Client, args: argparse.Namespace) -> int:
    version = client.get_model_version(args.uri, namespace=args.namespace)
    _print(args, version.model_dump(), lambda: version.uri)
    return 0


ACTIONS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "list": _list,
    "get": _get,
    "versions": _versions,
    "register": _register,
    "promote": _promote,
    "archive": _archive,
    "resolve": _resolve,
}


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _print(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, indent=2) if args.json else text())


def _err(message: str) -> None:
    print(f"headrace: {message}", file=sys.stderr)
