"""A revision as Kubernetes objects: a Deployment of the model server, a ClusterIP Service
in front of its pods, and a HorizontalPodAutoscaler (or a KEDA ScaledObject); each owned by
the InferenceService's parent ConfigMap, so deleting the parent deletes everything.

Pure: plain JSON objects from a `RevisionPlan` and the settings, nothing talks to a cluster.
The parent's ``uid`` exists only once the API server created it: `PENDING_UID` until then
(and in a dry run). A plan the objects cannot express raises `ManifestRefused` listing every
problem and its fix.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from headrace_kube import dns_label, label_value

from ..dataplane import RevisionPlan, ServiceKey
from ..revisions.process import server_args
from .settings import MODEL_PORT, ServingKubernetesSettings

__all__ = [
    "ANNOTATION_REVISION",
    "ANNOTATION_SERVICE",
    "CONTAINER",
    "LABEL_MANAGED_BY",
    "LABEL_REVISION",
    "LABEL_SERVICE",
    "MANAGED_BY",
    "PENDING_UID",
    "ManifestRefused",
    "RevisionObjects",
    "parent_object",
    "revision_objects",
    "service_selector",
]

MANAGED_BY = "headrace"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_SERVICE = "headrace.io/inference-service"
LABEL_REVISION = "headrace.io/revision"
ANNOTATION_SERVICE = "headrace.io/inference-service-name"
ANNOTATION_REVISION = "headrace.io/revision-name"
PENDING_UID = "pending-the-parent-configmap-uid"
CONTAINER = "kserve-container"
_RESOURCE_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


class ManifestRefused(ValueError):
    """A revision the Kubernetes data plane cannot run; the message lists every problem."""


@dataclass(frozen=True)
class RevisionObjects:
    """One revision's objects, in creation order after the parent; ``host:port`` is its
    Service's cluster DNS name, the router's upstream."""

    namespace: str
    parent: dict[str, Any]
    deployment: dict[str, Any]
    service: dict[str, Any]
    scaler: dict[str, Any]
    host: str
    port: int

    @property
    def children(self) -> list[dict[str, Any]]:
        return [self.deployment, self.service, self.scaler]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [self.parent, *self.children]


def _service_label(key: ServiceKey, settings: ServingKubernetesSettings) -> str:
    return label_value(settings.base_name(key.namespace, key.name))


def service_selector(key: ServiceKey, settings: ServingKubernetesSettings) -> str:
    """The label selector of everything made for the InferenceService ``key``."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_SERVICE}={_service_label(key, settings)}"


def parent_object(key: ServiceKey, settings: ServingKubernetesSettings) -> dict[str, Any]:
    """The parent ConfigMap ``headrace-isvc-<name>`` of everything the service runs."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": dns_label(f"headrace-isvc-{settings.base_name(key.namespace, key.name)}"),
            "namespace": settings.namespace_for(key.namespace),
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_SERVICE: _service_label(key, settings)},
            "annotations": {ANNOTATION_SERVICE: str(key)},
        },
        "data": {"inference-service": str(key)},
    }


def revision_objects(
    key: ServiceKey,
    plan: RevisionPlan,
    settings: ServingKubernetesSettings,
    *,
    parent_uid: str = PENDING_UID,
) -> RevisionObjects:
    """The objects of revision ``plan`` of ``key`` (see the module docstring)."""
    problems = _problems(plan, settings)
    if problems:
        raise ManifestRefused(
            f"revision {plan.name} of InferenceService {key} cannot run on Kubernetes: "
            + "; ".join(problems)
        )
    parent = parent_object(key, settings)
    namespace = parent["metadata"]["namespace"]
    name = dns_label(settings.base_name(key.namespace, plan.name), letter_first=True)
    labels = {
        **parent["metadata"]["labels"],
        LABEL_REVISION: label_value(settings.base_name(key.namespace, plan.name)),
    }
    annotations = {ANNOTATION_SERVICE: str(key), ANNOTATION_REVISION: plan.name}
    meta = {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "annotations": annotations,
        "ownerReferences": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": parent["metadata"]["name"],
                "uid": parent_uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    return RevisionObjects(
        namespace=namespace,
        parent=parent,
        deployment=_deployment(meta, plan, settings),
        service=_service(meta),
        scaler=_scaler(meta, plan, settings, key),
        host=f"{name}.{namespace}.svc",
        port=MODEL_PORT,
    )


def _problems(plan: RevisionPlan, settings: ServingKubernetesSettings) -> list[str]:
    problems: list[str] = []
    if not settings.image:
        problems.append(
            "HEADRACE_SERVING_KUBERNETES_IMAGE is not set: give an image with "
            "headrace-model-server on its PATH"
        )
    if plan.min_replicas == 0 and not settings.keda:
        problems.append(
            "spec.predictor.minReplicas 0 (scale to zero) needs KEDA on Kubernetes (a "
            "HorizontalPodAutoscaler keeps at least one replica): set minReplicas: 1, or "
            "install KEDA and set HEADRACE_SERVING_KUBERNETES_KEDA=true"
        )
    for field, values in (("requests", plan.requests), ("limits", plan.limits)):
        for resource, value in values.items():
            where = f"spec.predictor.model.resources.{field}.{resource}"
            if not _RESOURCE_NAME.match(resource):
                problems.append(f"{where}: {resource!r} is not a Kubernetes resource name")
                continue
            try:
                parse_quantity(value)
            except (ValueError, TypeError):
                problems.append(
                    f"{where}: {value!r} is not a Kubernetes quantity: write it like 500m or 4Gi"
                )
    return problems


def _env(plan: RevisionPlan, settings: ServingKubernetesSettings) -> list[dict[str, str]]:
    env = {"PYTHONUNBUFFERED": "1", **plan.env}
    if settings.nats_url:
        env["HEADRACE_NATS_URL"] = settings.nats_url
    if settings.artifacts:
        env["HEADRACE_ARTIFACTS"] = settings.artifacts
    return [{"name": name, "value": value} for name, value in sorted(env.items())]


def _deployment(
    meta: dict[str, Any], plan: RevisionPlan, settings: ServingKubernetesSettings
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": settings.image,
        "command": [settings.command],
        "args": server_args(plan, "0.0.0.0", MODEL_PORT),
        "ports": [{"name": "http", "containerPort": MODEL_PORT, "protocol": "TCP"}],
        "env": _env(plan, settings),
        "readinessProbe": {
            "httpGet": {"path": "/v2/health/ready", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": "http"},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
    }
    if settings.env_secret:
        container["envFrom"] = [{"secretRef": {"name": settings.env_secret}}]
    if plan.requests or plan.limits:
        resources: dict[str, Any] = {}
        if plan.requests:
            resources["requests"] = dict(plan.requests)
        if plan.limits:
            resources["limits"] = dict(plan.limits)
        container["resources"] = resources
    pod: dict[str, Any] = {"containers": [container]}
    if settings.service_account:
        pod["serviceAccountName"] = settings.service_account
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": copy.deepcopy(meta),
        "spec": {
            "replicas": max(plan.min_replicas, 1),
            "selector": {"matchLabels": dict(meta["labels"])},
            "template": {
                "metadata": {
                    "labels": dict(meta["labels"]),
                    "annotations": dict(meta["annotations"]),
                },
                "spec": pod,
            },
        },
    }


def _service(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": copy.deepcopy(meta),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(meta["labels"]),
            "ports": [
                {"name": "http", "port": MODEL_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def _scaler(
    meta: dict[str, Any], plan: RevisionPlan, settings: ServingKubernetesSettings, key: ServiceKey
) -> dict[str, Any]:
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]}
    high = max(plan.max_replicas, plan.min_replicas, 1)
    if settings.keda:
        query = (
            settings.keda_query.replace("{namespace}", meta["namespace"])
            .replace("{service}", key.name)
            .replace("{revision}", meta["name"])
        )
        return {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": copy.deepcopy(meta),
            "spec": {
                "scaleTargetRef": target,
                "minReplicaCount": plan.min_replicas,
                "maxReplicaCount": high,
                "triggers": [
                    {
                        "type": "prometheus",
                        "metadata": {
                            "serverAddress": settings.keda_prometheus,
                            "query": query,
                            "threshold": str(plan.scale_target),
                        },
                    }
                ],
            },
        }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": copy.deepcopy(meta),
        "spec": {
            "scaleTargetRef": target,
            "minReplicas": max(plan.min_replicas, 1),
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": settings.hpa_cpu_percent,
                        },
                    },
                }
            ],
        },
    }
