"""Creating and deleting a gang's objects (blocking client calls: run them in a thread).

`create_all` creates the parent first (or reads it, when a run's earlier step or a job's
earlier attempt made it), then each child owned by it, in order. All or nothing: when a
call fails, what this call created is deleted again (the parent when the gang owns it,
which takes every child with it; else the children one by one) and `WorkloadError` says
what was refused, where, and the fix (`explain`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.client.models import V1DeleteOptions
from urllib3.exceptions import HTTPError

from ...errors import WorkloadError
from .api import Action, KubernetesApi, explain
from .objects import Built

__all__ = ["Created", "create_all", "delete_object", "kind_of"]

log = logging.getLogger("headrace.trainer.backends.kubernetes")

_RESOURCES = {
    "ConfigMap": ("configmaps", ""),
    "Service": ("services", ""),
    "Job": ("jobs", "batch"),
    "PodGroup": ("podgroups", ""),
}


@dataclass(frozen=True)
class Created:
    """The parent's uid, and whether this call created it."""

    parent_uid: str
    parent_created: bool


def kind_of(obj: dict[str, Any]) -> tuple[str, str]:
    """``(resource, API group)`` of an object."""
    kind = str(obj.get("kind"))
    resource, group = _RESOURCES[kind]
    if kind == "PodGroup":
        group = str(obj["apiVersion"]).split("/")[0]
    return resource, group


def _action(verb: str, obj: dict[str, Any], namespace: str) -> Action:
    resource, group = kind_of(obj)
    return Action(verb, resource, namespace, group, str(obj["metadata"].get("name") or ""))


def _create(k8s: KubernetesApi, obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    kind = obj["kind"]
    if kind == "ConfigMap":
        made = k8s.core.create_namespaced_config_map(namespace, obj, _preload_content=False)
    elif kind == "Service":
        made = k8s.core.create_namespaced_service(namespace, obj, _preload_content=False)
    elif kind == "Job":
        made = k8s.batch.create_namespaced_job(namespace, obj, _preload_content=False)
    else:
        group, version = str(obj["apiVersion"]).split("/")
        made = k8s.custom.create_namespaced_custom_object(
            group, version, namespace, "podgroups", obj, _preload_content=False
        )
    return _json(made)


def _json(response: Any) -> dict[str, Any]:
    found = json.loads(response.data or b"{}")
    return found if isinstance(found, dict) else {}


def _read_parent(k8s: KubernetesApi, name: str, namespace: str) -> dict[str, Any]:
    return _json(k8s.core.read_namespaced_config_map(name, namespace, _preload_content=False))


def delete_object(
    k8s: KubernetesApi,
    obj: dict[str, Any],
    namespace: str,
    *,
    propagation: str = "Background",
    grace: int | None = None,
) -> bool:
    """Delete ``obj`` (as created: kind and name); False when it was gone already."""
    name = str(obj["metadata"]["name"])
    body = V1DeleteOptions(propagation_policy=propagation, grace_period_seconds=grace)
    try:
        kind = obj["kind"]
        if kind == "ConfigMap":
            k8s.core.delete_namespaced_config_map(name, namespace, body=body)
        elif kind == "Service":
            k8s.core.delete_namespaced_service(name, namespace, body=body)
        elif kind == "Job":
            k8s.batch.delete_namespaced_job(name, namespace, body=body)
        else:
            group, version = str(obj["apiVersion"]).split("/")
            k8s.custom.delete_namespaced_custom_object(
                group, version, namespace, "podgroups", name, body=body
            )
    except ApiException as error:
        if error.status == 404:
            return False
        raise WorkloadError(
            explain(error, _action("delete", obj, namespace), server=k8s.server)
        ) from error
    except HTTPError as error:
        raise WorkloadError(
            explain(error, _action("delete", obj, namespace), server=k8s.server)
        ) from error
    return True


def create_all(k8s: KubernetesApi, built: Built) -> Created:
    """Create ``built``'s parent (unless it exists) and children; all or nothing."""
    namespace = built.namespace
    parent = built.parent
    try:
        try:
            made = _create(k8s, parent, namespace)
            created = True
        except ApiException as error:
            if error.status != 409:
                raise
            made = _read_parent(k8s, str(parent["metadata"]["name"]), namespace)
            created = False
    except (ApiException, HTTPError) as error:
        raise WorkloadError(
            explain(error, _action("create", parent, namespace), server=k8s.server)
        ) from error
    uid = str(made["metadata"]["uid"])
    done: list[dict[str, Any]] = []
    for child in built.children:
        for owner in child["metadata"].get("ownerReferences") or []:
            owner["uid"] = uid
        try:
            _create(k8s, child, namespace)
        except ApiException as error:
            if error.status == 409 and child["kind"] != "Job":
                continue  # a job's Service and PodGroup outlive its attempts
            _undo(k8s, built, done, owned=created or not built.shared_parent)
            raise WorkloadError(
                explain(error, _action("create", child, namespace), server=k8s.server)
            ) from error
        except HTTPError as error:
            _undo(k8s, built, done, owned=created or not built.shared_parent)
            raise WorkloadError(
                explain(error, _action("create", child, namespace), server=k8s.server)
            ) from error
        done.append(child)
    return Created(parent_uid=uid, parent_created=created)


def _undo(k8s: KubernetesApi, built: Built, done: list[dict[str, Any]], *, owned: bool) -> None:
    """Delete what a failed `create_all` made: the parent when nothing else shares it (the
    garbage collector deletes its children), else each child made."""
    try:
        if owned:
            delete_object(k8s, built.parent, built.namespace, propagation="Foreground")
            return
        for child in reversed(done):
            delete_object(k8s, child, built.namespace)
    except WorkloadError as error:
        log.warning("could not delete what a failed start created: %s", error)
