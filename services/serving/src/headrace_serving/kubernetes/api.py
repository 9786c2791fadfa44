"""The official client for the serving data plane, and its errors in words a user can act on
(`headrace_kube.explain`, as the trainer's: a missing namespace, RBAC, credentials)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from headrace_kube import Action, ConfigurationError, load_configuration
from headrace_kube import explain as shared_explain

from ..dataplane import FleetError
from .settings import ServingKubernetesSettings

__all__ = ["Action", "KubeApi", "KubeCallError", "connect", "explain"]


class KubeCallError(FleetError):
    """A client call that failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KubeApi:
    api: client.ApiClient
    core: client.CoreV1Api
    apps: client.AppsV1Api
    autoscaling: client.AutoscalingV2Api
    custom: client.CustomObjectsApi
    server: str

    def close(self) -> None:
        self.api.close()

    async def call(self, action: Action, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """``call`` in a worker thread, its JSON answer; `KubeCallError` explained."""

        def run() -> dict[str, Any]:
            response = call(*args, _preload_content=False, **kwargs)
            found = json.loads(response.data or b"{}")
            return found if isinstance(found, dict) else {}

        try:
            return await asyncio.to_thread(run)
        except ApiException as error:
            raise KubeCallError(explain(error, action, self.server), error.status or 0) from None
        except HTTPError as error:
            raise KubeCallError(explain(error, action, self.server)) from None


def connect(settings: ServingKubernetesSettings) -> KubeApi:
    """The cluster the settings name; `FleetError` when no configuration can be loaded."""
    try:
        configuration = load_configuration(settings.kubeconfig, settings.context)
    except ConfigurationError as error:
        raise FleetError(
            f"the serving service cannot load its Kubernetes configuration from {error.where} "
            f"({error.reason}): set KUBECONFIG (or HEADRACE_SERVING_KUBERNETES_KUBECONFIG) to a "
            "kubeconfig file, or run the serving service in a pod with a service account"
        ) from error
    api = client.ApiClient(configuration)
    return KubeApi(
        api=api,
        core=client.CoreV1Api(api),
        apps=client.AppsV1Api(api),
        autoscaling=client.AutoscalingV2Api(api),
        custom=client.CustomObjectsApi(api),
        server=str(configuration.host),
    )


def explain(error: BaseException, action: Action, server: str = "") -> str:
    """``error`` of ``action`` as one sentence with the fix."""
    return shared_explain(
        error,
        action,
        server=server,
        who="the serving service",
        namespace_setting="HEADRACE_SERVING_KUBERNETES_NAMESPACE",
    )
