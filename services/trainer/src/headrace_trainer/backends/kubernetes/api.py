"""The official client, connected from the settings, and its errors in words a user can act on.

`connect` builds one ``ApiClient`` (kubeconfig, or the pod's service account in a cluster)
and the typed APIs the backend uses. `explain` turns an ``ApiException`` (or a connection
failure) of one call into a sentence naming the namespace, what was refused (verb and
resource) and the fix: the message a step or a training job then fails with.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

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
        raise WorkloadError(
            f"the Kubernetes backend cannot load its cluster configuration from {where} "
            f"({error}): set KUBECONFIG (or HEADRACE_KUBERNETES_KUBECONFIG) to a kubeconfig "
            "file, or run the trainer in a pod with a service account"
        ) from error
    api = client.ApiClient(configuration)
    return KubernetesApi(
        api=api,
        core=client.CoreV1Api(api),
        batch=client.BatchV1Api(api),
        custom=client.CustomObjectsApi(api),
        server=str(configuration.host),
    )


@dataclass(frozen=True)
class Action:
    """One API call as a user reads it: ``create`` ``jobs`` (group ``batch``) in ``namespace``."""

    verb: str
    resource: str
    namespace: str
    group: str = ""
    name: str = ""

    @property
    def resource_name(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


def status_of(error: ApiException) -> dict[str, Any]:
    """The ``Status`` object the API server sent with ``error`` ({} when none)."""
    try:
        found = json.loads(error.body or "{}")
    except (TypeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def explain(error: BaseException, action: Action, *, server: str = "") -> str:
    """``error`` of ``action`` as one sentence with the fix."""
    where = f"namespace '{action.namespace}'"
    if not isinstance(error, ApiException):
        return (
            f"the Kubernetes API server{f' at {server}' if server else ''} could not be reached "
            f"to {action.verb} {action.resource_name} in {where} ({type(error).__name__}: "
            f"{error}): check KUBECONFIG and that the cluster is up"
        )
    status = status_of(error)
    message = str(status.get("message") or error.reason or "").strip()
    details = status.get("details") or {}
    code = error.status
    if code == 404 and details.get("kind") == "namespaces":
        return (
            f"{where} does not exist on the Kubernetes cluster (the API server answered "
            f"404 NotFound to {action.verb} {action.resource_name}: {message}): create it "
            f"(kubectl create namespace {action.namespace}) or set HEADRACE_KUBERNETES_NAMESPACE "
            "to an existing namespace"
        )
    if code == 403:
        api_group = action.group or '""'
        return (
            f"the trainer may not {action.verb} {action.resource_name} in {where} (403 "
            f"Forbidden: {message}): grant its service account the verb '{action.verb}' on "
            f"resource '{action.resource}' of API group {api_group} in {where} with a Role and "
            "RoleBinding (docs/kubernetes.md lists every permission the backend needs)"
        )
    if code == 401:
        return (
            f"the Kubernetes API server refused the trainer's credentials (401 Unauthorized) "
            f"to {action.verb} {action.resource_name} in {where}: renew the kubeconfig's "
            "credentials or the service account token"
        )
    if code == 422:
        return (
            f"the API server refused the {action.resource_name} '{action.name}' in {where} "
            f"as invalid (422: {message}): this is a Headrace bug, please report it"
        )
    return (
        f"could not {action.verb} {action.resource_name} '{action.name}' in {where}: "
        f"{code} {status.get('reason') or error.reason}: {message}"
    )
