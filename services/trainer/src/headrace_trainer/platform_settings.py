"""kfp-kubernetes settings of a step that the local backend does not apply (pure).

``StepReady.platform`` carries the step's ``KubernetesExecutorConfig`` (kfp-kubernetes:
``add_node_selector``, ``add_toleration``, ``use_secret_as_env``, ``mount_pvc``, ...) for
the Kubernetes backend. On this machine there is no pod to place, no secret store and no
volume to mount, so each such setting is named once, in the step log and on StepStarted;
none is dropped silently. ``activeDeadlineSeconds`` (``kubernetes.set_timeout``) is applied:
the scheduler makes it the step's timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["APPLIED", "unapplied_settings"]

APPLIED = frozenset({"activeDeadlineSeconds"})


def _names(key: str) -> Callable[[Any], str]:
    def describe(value: Any) -> str:
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(item.get(key, "?")) for item in items if isinstance(item, Mapping))

    return describe


def _labels(value: Any) -> str:
    labels = (value or {}).get("labels") or {}
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _tolerations(value: Any) -> str:
    return ", ".join(
        ":".join(str(t.get(k, "")) for k in ("key", "operator", "value", "effect") if t.get(k))
        for t in value or []
        if isinstance(t, Mapping)
    )


def _secret_env(value: Any) -> str:
    return ", ".join(
        f"{item.get('secretName', '?')} -> "
        + ", ".join(str(k.get("envVar")) for k in item.get("keyToEnv") or [])
        for item in value or []
    )


def _config_map_env(value: Any) -> str:
    return ", ".join(
        f"{item.get('configMapName', '?')} -> "
        + ", ".join(str(k.get("envVar")) for k in item.get("keyToEnv") or [])
        for item in value or []
    )


def _mounts(name_key: str) -> Callable[[Any], str]:
    def describe(value: Any) -> str:
        return ", ".join(
            f"{item.get(name_key) or item.get('constant') or '?'} at {item.get('mountPath', '?')}"
            for item in value or []
            if isinstance(item, Mapping)
        )

    return describe


# Kubernetes setting -> (what it is, how to describe its value)
_KNOWN: dict[str, tuple[str, Callable[[Any], str]]] = {
    "nodeSelector": ("node selector", _labels),
    "nodeAffinity": ("node affinity", lambda v: f"{len(v or [])} term(s)"),
    "podAffinity": ("pod affinity", lambda v: f"{len(v or [])} term(s)"),
    "tolerations": ("tolerations", _tolerations),
    "secretAsEnv": ("secrets as environment variables", _secret_env),
    "secretAsVolume": ("secrets as volumes", _mounts("secretName")),
    "configMapAsEnv": ("config maps as environment variables", _config_map_env),
    "configMapAsVolume": ("config maps as volumes", _mounts("configMapName")),
    "pvcMount": ("persistent volume claims", _mounts("pvcName")),
    "genericEphemeralVolume": ("ephemeral volumes", _mounts("volumeName")),
    "emptyDirMounts": ("emptyDir volumes", _mounts("volumeName")),
    "imagePullSecret": ("image pull secrets", _names("secretName")),
    "imagePullPolicy": ("image pull policy", str),
    "podMetadata": ("pod labels and annotations", lambda v: ", ".join(sorted(v or {}))),
    "fieldPathAsEnv": ("pod fields as environment variables", _names("name")),
    "enabledSharedMemory": ("shared memory volume", lambda v: str((v or {}).get("volumeName"))),
    "securityContext": ("security context", lambda v: ", ".join(sorted(v or {}))),
}


def unapplied_settings(platform: Mapping[str, Any]) -> list[str]:
    """One line per setting the local backend ignores: ``nodeSelector (node selector:
    disk=ssd)``. Empty when there is none."""
    lines: list[str] = []
    for key, value in sorted(platform.items()):
        if key in APPLIED or value in (None, "", [], {}):
            continue
        what, describe = _KNOWN.get(key, ("a Kubernetes setting", lambda v: ""))
        detail = describe(value)
        lines.append(f"{key} ({what}{': ' + detail if detail else ''})")
    return lines
