"""Create, read, list and delete the kinds the serving data plane makes, through the typed
APIs (and the custom-objects API for KEDA's ScaledObject); every call explained on failure
(`KubeApi.call`)."""

from __future__ import annotations

from typing import Any

from kubernetes.client.models import V1DeleteOptions

from .api import Action, KubeApi, KubeCallError

__all__ = ["KINDS", "create", "delete", "list_objects", "methods", "read"]

KINDS: dict[str, tuple[str, str]] = {
    "ConfigMap": ("configmaps", ""),
    "Service": ("services", ""),
    "Deployment": ("deployments", "apps"),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", "autoscaling"),
    "ScaledObject": ("scaledobjects", "keda.sh"),
    "Pod": ("pods", ""),
}


def _action(verb: str, kind: str, namespace: str, name: str = "") -> Action:
    resource, group = KINDS[kind]
    return Action(verb, resource, namespace, group, name)


def methods(k8s: KubeApi, kind: str, verb: str) -> Any:
    typed = {
        "ConfigMap": (k8s.core, "config_map"),
        "Service": (k8s.core, "service"),
        "Deployment": (k8s.apps, "deployment"),
        "HorizontalPodAutoscaler": (k8s.autoscaling, "horizontal_pod_autoscaler"),
        "Pod": (k8s.core, "pod"),
    }
    if kind == "ScaledObject":
        method = getattr(k8s.custom, f"{verb}_namespaced_custom_object")
        return lambda *args, **kwargs: method("keda.sh", "v1alpha1", args[0], "scaledobjects",
                                              *args[1:], **kwargs)  # fmt: skip
    api, suffix = typed[kind]
    return getattr(api, f"{verb}_namespaced_{suffix}")


async def create(k8s: KubeApi, obj: dict[str, Any]) -> dict[str, Any]:
    kind, meta = str(obj["kind"]), obj["metadata"]
    namespace = str(meta["namespace"])
    action = _action("create", kind, namespace, str(meta["name"]))
    return await k8s.call(action, methods(k8s, kind, "create"), namespace, obj)


async def read(k8s: KubeApi, kind: str, namespace: str, name: str) -> dict[str, Any]:
    action = _action("get", kind, namespace, name)
    if kind == "ScaledObject":
        method = k8s.custom.get_namespaced_custom_object
        return await k8s.call(action, method, "keda.sh", "v1alpha1", namespace, "scaledobjects",
                              name)  # fmt: skip
    return await k8s.call(action, methods(k8s, kind, "read"), name, namespace)


async def list_objects(k8s: KubeApi, kind: str, namespace: str, selector: str) -> dict[str, Any]:
    action = _action("list", kind, namespace)
    return await k8s.call(action, methods(k8s, kind, "list"), namespace, label_selector=selector)


async def delete(
    k8s: KubeApi, kind: str, namespace: str, name: str, *, propagation: str = "Background"
) -> bool:
    """Delete; False when it was gone already."""
    action = _action("delete", kind, namespace, name)
    body = V1DeleteOptions(propagation_policy=propagation)
    try:
        if kind == "ScaledObject":
            await k8s.call(action, k8s.custom.delete_namespaced_custom_object, "keda.sh",
                           "v1alpha1", namespace, "scaledobjects", name, body=body)  # fmt: skip
        else:
            await k8s.call(action, methods(k8s, kind, "delete"), name, namespace, body=body)
    except KubeCallError as error:
        if error.status == 404:
            return False
        raise
    return True
