"""The Kubernetes backend. Built so far: its settings (`KubernetesSettings`) and the pure
translation of steps and training jobs into Kubernetes objects (`manifests`), which
``headrace apply --dry-run=kubernetes`` prints (`dryrun`), and the pure watch-to-event logic
(`observe`). Creating them on a cluster, the watch calls, logs and serving are not built yet
(docs/kubernetes.md)."""

from .settings import GangScheduler, KubernetesSettings

__all__ = ["GangScheduler", "KubernetesSettings"]
