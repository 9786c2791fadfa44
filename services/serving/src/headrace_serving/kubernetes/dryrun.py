"""``headrace-serving-manifests FILE|-``: the Kubernetes objects the serving service's
Kubernetes data plane would create for each InferenceService of a YAML file (its parent
ConfigMap, then its first revision's Deployment, Service and HorizontalPodAutoscaler or
KEDA ScaledObject), printed as YAML; nothing is created, no cluster is needed.

``headrace apply -f FILE --dry-run=kubernetes`` runs this (the CLI checks the file and fills
in each document's namespace first). A ``models:/NAME@ALIAS`` storage URI is printed as
given: the service resolves it to a version when applied. Settings:
``HEADRACE_SERVING_KUBERNETES_*`` (see `ServingKubernetesSettings`). Exit status: 0 printed,
2 the file or the settings are refused (every problem on stderr).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml
from pydantic import ValidationError

from headrace_contracts.kubeflow import ManifestError, load_inference_services

from ..dataplane import ServiceKey
from ..revisions.naming import revision_name, revision_plan
from .manifests import ManifestRefused, revision_objects
from .settings import ServingKubernetesSettings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="headrace-serving-manifests",
        description="Print the Kubernetes objects of the InferenceServices of a YAML file.",
    )
    parser.add_argument("file", help="the YAML file; - reads standard input")
    args = parser.parse_args(argv)
    try:
        settings = ServingKubernetesSettings()
    except ValidationError as error:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        return _refuse(f"the Kubernetes settings are invalid: {reasons}")
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as file:
                text = file.read()
    except OSError as error:
        return _refuse(f"{args.file} cannot be read ({error.strerror}): check the path")
    documents: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        specs = load_inference_services(text)
    except ManifestError as error:
        return _refuse(str(error))
    for spec in specs:
        plan = revision_plan(spec, revision_name(spec.name, 1), spec.storage_uri, None, {})
        try:
            objects = revision_objects(ServiceKey(spec.namespace, spec.name), plan, settings)
        except ManifestRefused as error:
            problems.append(str(error))
            continue
        documents.extend(objects.to_dicts())
    if problems:
        return _refuse("; ".join(problems))
    sys.stdout.write(yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False))
    return 0


def _refuse(message: str) -> int:
    print(f"headrace-serving-manifests: {message}", file=sys.stderr)
    return 2
