"""The official client, connected from the settings, and its errors in words a user can act on.

`connect` builds one ``ApiClient`` (kubeconfig, or the pod's service account in a cluster)
and the typed APIs the backend uses. `explain` turns an ``ApiException`` (or a connection
failure) of one call into a sentence naming the namespace, what was refused (verb and
resource) and the fix: the message a step or a training job then fails with.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

from headrace_kube import Action, ConfigurationError, load_configuration, status_of
from headrace_kube import explain as shared_explain

from ...errors import WorkloadError
from .settings import KubernetesSettings

__all__ = ["Action", "KubernetesApi", "connect", "explain", "status_of"]


@dataclass(frozen=True)
class KubernetesApi:
    """The client and the typed APIs of one cluster (one per backend, made at start)."""

    api: client.ApiClient
    core: client.CoreV1Api
    batch: client.BatchV1Api
    custom: client.CustomObjectsApi
    server: str

    def close(self) -> None:
        self.api.close()


def connect(settings: KubernetesSettings) -> KubernetesApi:
    """The cluster the settings name (see `KubernetesSettings`); `WorkloadError` when no
    configuration can be loaded, naming where it looked and the fix."""
    try:
        configuration = load_configuration(settings.kubeconfig, settings.context)
    except ConfigurationError as error:
        raise WorkloadError(
            f"the Kubernetes backend cannot load its cluster configuration from {error.where} "
            f"({error.reason}): set KUBECONFIG (or HEADRACE_KUBERNETES_KUBECONFIG) to a "
            "kubeconfig file, or run the trainer in a pod with a service account"
        ) from error
    api = client.ApiClient(configuration)
    return KubernetesApi(
        api=api,
        core=client.CoreV1Api(api),
        batch=client.BatchV1Api(api),
        custom=client.CustomObjectsApi(api),
        server=str(configuration.host),
    )


def explain(error: BaseException, action: Action, *, server: str = "") -> str:
    """``error`` of ``action`` as one sentence with the fix (`headrace_kube.explain`)."""
    return shared_explain(
        error,
        action,
        server=server,
        who="the trainer",
        namespace_setting="HEADRACE_KUBERNETES_NAMESPACE",
    )
