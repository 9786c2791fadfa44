"""The command line of ``headrace model``: argparse only, nothing heavy imported.

    headrace model list [--json]
    headrace model get NAME [--json]
    headrace model versions NAME [--state LIVE|ARCHIVED] [--json]
    headrace model register NAME URI [--digest D] [--framework F] [--metric K=V]...
                                     [--property K=V]... [--label K=V]... [--tag T]...
                                     [--description TEXT] [--json]
    headrace model promote NAME VERSION --alias ALIAS [--require CEL] [--json]
    headrace model archive NAME VERSION
    headrace model resolve models:/NAME@ALIAS|models:/NAME/VERSION [--json]

Every action takes ``--namespace NS`` (default ``default``), ``--home DIR``,
``--nats-url URL`` and ``--timeout S``.
"""

from __future__ import annotations

import argparse

from .cli_options import add_platform_options

__all__ = ["add_model_parser", "key_value"]


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as a pair; ArgumentTypeError otherwise."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _version(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a version number (1, 2, ...), got {text!r}")
    return int(text)


def add_model_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``model`` and its actions to the ``headrace`` subparsers ``sub``."""
    where = add_platform_options(
        argparse.ArgumentParser(add_help=False), answerer="the metadata service", timeout=10.0
    )
    where.add_argument("--namespace", default="default", metavar="NS", help="the models' namespace")
    where.add_argument("--json", action="store_true", help="print JSON")
    model = sub.add_parser(
        "model",
        help="registered models: versions, aliases, promotion",
        description="The model registry: registered models, their numbered versions and the "
        "aliases (production, staging, ...) pointing at them.",
    )
    actions = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    actions.add_parser("list", parents=[where], help="list registered models")
    get = actions.add_parser("get", parents=[where], help="show one model and its aliases")
    get.add_argument("name", metavar="NAME")
    versions = actions.add_parser("versions", parents=[where], help="list a model's versions")
    versions.add_argument("name", metavar="NAME")
    versions.add_argument("--state", choices=("LIVE", "ARCHIVED"), type=str.upper)

    register = actions.add_parser(
        "register",
        parents=[where],
        help="register an artifact as a new version of a model",
        description="Register the model artifact at URI as a version of NAME (the same URI "
        "and digest again is the same version).",
    )
    register.add_argument("name", metavar="NAME")
    register.add_argument("uri", metavar="URI", help="the artifact's URI (file:// or s3://)")
    register.add_argument("--digest", default="", help="sha256:<hex> of the artifact")
    register.add_argument("--framework", default="", help="sklearn, pytorch, onnx, ...")
    register.add_argument("--description", default="")
    for flag, what in (
        ("--metric", "a metric, e.g. accuracy=0.97 (repeatable)"),
        ("--property", "a custom property, e.g. layers=3 (JSON or text; repeatable)"),
        ("--label", "a label, e.g. team=vision (repeatable)"),
    ):
        register.add_argument(
            flag, type=key_value, action="append", default=[], metavar="K=V", help=what
        )
    register.add_argument("--tag", action="append", default=[], metavar="TAG")
    register.add_argument("--run-id", default="", help="the run that produced it")
    register.add_argument("--step-id", default="", help="the step that produced it")

    promote = actions.add_parser(
        "promote",
        parents=[where],
        help="point an alias at a version, if a condition holds",
        description="Point ALIAS at VERSION of NAME. With --require, only if the CEL "
        "condition holds for the version: it reads metrics, properties, labels, tags, "
        "version, model and framework, e.g. 'metrics.accuracy >= 0.95'. Prints the new and "
        "the previous version; a refusal prints the reason and exits 2.",
    )
    promote.add_argument("name", metavar="NAME")
    promote.add_argument("version", metavar="VERSION", type=_version)
    promote.add_argument("--alias", required=True, help="e.g. production, staging")
    promote.add_argument("--require", default="", metavar="CEL", help="condition to meet")

    archive = actions.add_parser(
        "archive", parents=[where], help="archive a version no alias points at"
    )
    archive.add_argument("name", metavar="NAME")
    archive.add_argument("version", metavar="VERSION", type=_version)

    resolve = actions.add_parser(
        "resolve", parents=[where], help="the artifact URI a models:/ URI names"
    )
    resolve.add_argument("uri", metavar="MODEL_URI", help="models:/NAME@ALIAS or models:/NAME/N")
