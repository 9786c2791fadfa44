"""The serving data plane on Kubernetes (``HEADRACE_SERVING_BACKEND=kubernetes``): each
revision a Deployment of the model server, a ClusterIP Service and an autoscaler under one
parent per InferenceService; the routers stay in the serving service (docs/kubernetes.md)."""

from .fleet import KubernetesFleet
from .manifests import ManifestRefused, parent_object, revision_objects
from .settings import ServingKubernetesSettings

__all__ = [
    "KubernetesFleet",
    "ManifestRefused",
    "ServingKubernetesSettings",
    "parent_object",
    "revision_objects",
]
