"""The official client for the serving data plane, and its errors in words a user can act on
(the same rules as the trainer's Kubernetes backend: a missing namespace, RBAC, credentials).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from ..dataplane import FleetError
from .settings import ServingKubernetesSettings

__all__ = ["Action", "KubeApi", "KubeCallError", "connect", "explain"]


class KubeCallError(FleetError):
    """A client call that failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Action:
    """One API call as a user reads it: ``create`` ``deployments`` (group ``apps``)."""

    verb: str
    resource: str
    namespace: str
    group: str = ""
    name: str = ""

    @property
    def resource_name(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


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
    configuration = client.Configuration()
    path = settings.kubeconfig or os.environ.get("KUBECONFIG", "")
    in_cluster = not path and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=path or None,
                context=settings.context or None,
                client_configuration=configuration,
            )
    except (ConfigException, OSError, TypeError) as error:
        where = "the pod's service account" if in_cluster else (path or "~/.kube/config")
        raise FleetError(
            f"the serving service cannot load its Kubernetes configuration from {where} "
            f"({error}): set KUBECONFIG (or HEADRACE_SERVING_KUBERNETES_KUBECONFIG) to a "
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


def _status(error: ApiException) -> dict[str, Any]:
    try:
        found = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def explain(error: BaseException, action: Action, server: str = "") -> str:
    """``error`` of ``action`` as one sentence with the fix."""
    where = f"namespace '{action.namespace}'"
    if not isinstance(error, ApiException):
        return (
            f"the Kubernetes API server{f' at {server}' if server else ''} could not be reached "
            f"to {action.verb} {action.resource_name} in {where} ({type(error).__name__}: "
            f"{error}): check KUBECONFIG and that the cluster is up"
        )
    status = _status(error)
    message = str(status.get("message") or error.reason or "").strip()
    details = status.get("details") or {}
    code = error.status
    if code == 404 and details.get("kind") == "namespaces":
        return (
            f"{where} does not exist on the Kubernetes cluster (the API server answered 404 "
            f"NotFound to {action.verb} {action.resource_name}: {message}): create it "
            f"(kubectl create namespace {action.namespace}) or set "
            "HEADRACE_SERVING_KUBERNETES_NAMESPACE to an existing namespace"
        )
    if code == 403:
        return (
            f"the serving service may not {action.verb} {action.resource_name} in {where} "
            f"(403 Forbidden: {message}): grant its service account the verb '{action.verb}' "
            f"on resource '{action.resource}' of API group {action.group or chr(34) * 2} in "
            f"{where} with a Role and RoleBinding (docs/kubernetes.md lists every permission)"
        )
    if code == 401:
        return (
            f"the Kubernetes API server refused the serving service's credentials (401 "
            f"Unauthorized) to {action.verb} {action.resource_name} in {where}: renew the "
            "kubeconfig's credentials or the service account token"
        )
    return (
        f"could not {action.verb} {action.resource_name} '{action.name}' in {where}: "
        f"{code} {status.get('reason') or error.reason}: {message}"
    )
