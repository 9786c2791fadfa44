"""``headrace apply -f FILE --dry-run=kubernetes``: print the Kubernetes objects the trainer's
Kubernetes backend would create for each job (or the serving service's Kubernetes data plane
for each InferenceService), without a platform or a cluster.

The CLI checks the file and gives each document its namespace (the document's, else
``--namespace``), then hands the documents to the trainer's ``headrace-trainer-manifests``
(the serving service's ``headrace-serving-manifests``) in its own process (the CLI never
imports a service), which prints them as YAML.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .job_client import read_manifests

__all__ = ["inference_service_manifests", "kubernetes_manifests", "manifests_command"]

SCRIPT = "headrace-trainer-manifests"
_MODULE = "headrace_trainer.backends.kubernetes.dryrun"
SERVING_SCRIPT = "headrace-serving-manifests"
_SERVING_MODULE = "headrace_serving.kubernetes.dryrun"


def manifests_command(script: str = SCRIPT, module: str = _MODULE) -> list[str]:
    """A service's manifest printer beside this Python, else ``python -c ...main()``."""
    path = Path(sys.executable).parent / script
    if path.is_file() and os.access(path, os.X_OK):
        return [str(path), "-"]
    code = f"import sys; from {module} import main; sys.exit(main(['-']))"
    return [sys.executable, "-c", code]


def kubernetes_manifests(source: Path, namespace: str) -> subprocess.CompletedProcess[str]:
    """The printer's run on the jobs of ``source`` (`ManifestRejected` for a bad file):
    its stdout is the YAML, its stderr every problem, its return code 0 or 2."""
    jobs, _ = read_manifests(source, namespace)
    documents = yaml.safe_dump_all([document for document, _ in jobs], sort_keys=False)
    return subprocess.run(
        manifests_command(), input=documents, capture_output=True, text=True, check=False
    )


def inference_service_manifests(
    documents: list[dict[str, Any]],
) -> subprocess.CompletedProcess[str]:
    """The serving printer's run on checked InferenceService ``documents`` (namespaces filled
    in): its stdout is the YAML, its stderr every problem, its return code 0 or 2."""
    text = yaml.safe_dump_all(documents, sort_keys=False)
    return subprocess.run(
        manifests_command(SERVING_SCRIPT, _SERVING_MODULE),
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
