"""``headrace apply -f FILE --dry-run=kubernetes``: print the Kubernetes objects the trainer's
Kubernetes backend would create for each job, without a platform or a cluster.

The CLI checks the file and gives each document its namespace (the document's, else
``--namespace``), then hands the documents to the trainer's ``headrace-trainer-manifests``
in its own process (the CLI never imports a service), which prints them as YAML.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from .job_client import read_manifests

__all__ = ["kubernetes_manifests", "manifests_command"]

SCRIPT = "headrace-trainer-manifests"
_MODULE = "headrace_trainer.backends.kubernetes.dryrun"


def manifests_command() -> list[str]:
    """The trainer's manifest printer beside this Python, else ``python -c ...main()``."""
    script = Path(sys.executable).parent / SCRIPT
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "-"]
    code = f"import sys; from {_MODULE} import main; sys.exit(main(['-']))"
    return [sys.executable, "-c", code]


def kubernetes_manifests(source: Path, namespace: str) -> subprocess.CompletedProcess[str]:
    """The printer's run on the jobs of ``source`` (`ManifestRejected` for a bad file):
    its stdout is the YAML, its stderr every problem, its return code 0 or 2."""
    jobs, _ = read_manifests(source, namespace)
    documents = yaml.safe_dump_all([document for document, _ in jobs], sort_keys=False)
    return subprocess.run(
        manifests_command(), input=documents, capture_output=True, text=True, check=False
    )
