"""``headrace-trainer-manifests FILE|-``: the Kubernetes objects the backend would create for
each training job of a YAML file, printed as YAML; nothing is created, no cluster is needed.

``headrace apply -f FILE --dry-run=kubernetes`` runs this (the CLI checks the file and fills
in each document's namespace first). Settings: ``HEADRACE_KUBERNETES_*`` (see
`KubernetesSettings`). Exit status: 0 printed, 2 the file or the settings are refused
(every problem listed on stderr).
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from headrace_contracts.kubeflow import ManifestError, load_training_jobs

from ...errors import ManifestUnsupported
from .manifests import to_yaml, training_manifests
from .settings import KubernetesSettings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="headrace-trainer-manifests",
        description="Print the Kubernetes objects of the training jobs of a YAML file.",
    )
    parser.add_argument("file", help="the YAML file; - reads standard input")
    args = parser.parse_args(argv)
    try:
        settings = KubernetesSettings()
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
    try:
        jobs = load_training_jobs(text)
        output = to_yaml(training_manifests(job, settings) for job in jobs)
    except (ManifestError, ManifestUnsupported) as error:
        return _refuse(str(error))
    sys.stdout.write(output)
    return 0


def _refuse(message: str) -> int:
    print(f"headrace-trainer-manifests: {message}", file=sys.stderr)
    return 2
