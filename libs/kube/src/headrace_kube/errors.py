"""An API call's failure in words a user can act on: `explain` turns an ``ApiException`` (or a
connection failure) of one call into a sentence naming the namespace, what was refused (verb
and resource) and the fix; ``who`` is the service asking (``the trainer``), ``namespace_setting``
the variable that picks another namespace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

__all__ = ["Action", "explain", "status_of"]


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


def explain(
    error: BaseException,
    action: Action,
    *,
    server: str = "",
    who: str = "the trainer",
    namespace_setting: str = "HEADRACE_KUBERNETES_NAMESPACE",
) -> str:
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
            f"(kubectl create namespace {action.namespace}) or set {namespace_setting} "
            "to an existing namespace"
        )
    if code == 403:
        api_group = action.group or '""'
        return (
            f"{who} may not {action.verb} {action.resource_name} in {where} (403 "
            f"Forbidden: {message}): grant its service account the verb '{action.verb}' on "
            f"resource '{action.resource}' of API group {api_group} in {where} with a Role and "
            "RoleBinding (docs/kubernetes.md lists every permission the backend needs)"
        )
    if code == 401:
        return (
            f"the Kubernetes API server refused {who}'s credentials (401 Unauthorized) "
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
