"""The Kubernetes backend (docs/kubernetes.md): its settings (`KubernetesSettings`), the pure
translation of steps and training jobs into Kubernetes objects (`manifests`), which
``headrace apply --dry-run=kubernetes`` prints (`dryrun`), the pure watch-to-event logic
(`observe`), and `KubernetesBackend`, which creates, watches, follows the logs of, stops and
adopts them on a cluster through the official client (`open_kubernetes` connects it)."""

from pathlib import Path

from headrace_artifacts import ArtifactStore

from .api import connect
from .backend import KubernetesBackend
from .settings import GangScheduler, KubernetesSettings

__all__ = ["GangScheduler", "KubernetesBackend", "KubernetesSettings", "open_kubernetes"]


def open_kubernetes(
    settings: KubernetesSettings, *, store: ArtifactStore, spool: Path
) -> KubernetesBackend:
    """The backend on the cluster ``settings`` name; `WorkloadError` when no cluster
    configuration can be loaded (naming where it looked and the fix)."""
    return KubernetesBackend(connect(settings), settings, store=store, spool=spool)
