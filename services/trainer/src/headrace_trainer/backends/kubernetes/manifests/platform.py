"""A step's kfp-kubernetes ``KubernetesExecutorConfig`` (``StepReady.platform``) as pod settings.

=========================  ============================================================
kfp-kubernetes field        pod
=========================  ============================================================
nodeSelector.labels         ``nodeSelector``
nodeAffinity                ``affinity.nodeAffinity`` (a term with ``weight``: preferred)
tolerations                 ``tolerations`` (``tolerationJson`` from a constant too)
secretAsEnv, configMapAsEnv container ``env`` with ``valueFrom.secretKeyRef`` /
                            ``configMapKeyRef`` (``optional`` kept)
secretAsVolume,             a ``secret`` / ``configMap`` volume mounted at ``mountPath``
configMapAsVolume
pvcMount                    a ``persistentVolumeClaim`` volume (``subPath`` kept)
genericEphemeralVolume      an ``ephemeral`` volume with a claim template
emptyDirMounts              an ``emptyDir`` volume (``medium``, ``sizeLimit``)
enabledSharedMemory         a memory ``emptyDir`` at ``/dev/shm``
fieldPathAsEnv              container ``env`` with ``valueFrom.fieldRef``
imagePullSecret             ``imagePullSecrets``; imagePullPolicy: the container's
podMetadata                 the pod template's labels and annotations
securityContext             the container's ``securityContext``
activeDeadlineSeconds       the Job's ``activeDeadlineSeconds``
=========================  ============================================================

Every other field, and a name that comes from another task's output or a pipeline
parameter the step did not receive, is a problem with its path (``podAffinity`` is not
built yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import (
    V1Affinity,
    V1ConfigMapKeySelector,
    V1ConfigMapVolumeSource,
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1EnvVarSource,
    V1EphemeralVolumeSource,
    V1LocalObjectReference,
    V1NodeAffinity,
    V1NodeSelector,
    V1NodeSelectorRequirement,
    V1NodeSelectorTerm,
    V1ObjectFieldSelector,
    V1ObjectMeta,
    V1PersistentVolumeClaimSpec,
    V1PersistentVolumeClaimTemplate,
    V1PersistentVolumeClaimVolumeSource,
    V1PreferredSchedulingTerm,
    V1SecretKeySelector,
    V1SecretVolumeSource,
    V1SecurityContext,
    V1Toleration,
    V1Volume,
    V1VolumeMount,
    V1VolumeResourceRequirements,
)

from headrace_kube.names import dns_label

from .reader import Problems, Reader

__all__ = ["PULL_POLICIES", "PodSettings", "pod_settings"]

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
_EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")
_RESERVED = ("headrace.io/", "app.kubernetes.io/managed-by")


@dataclass
class PodSettings:
    """What the platform settings add to a step's pod and its container."""

    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[V1Toleration] = field(default_factory=list)
    affinity: V1Affinity | None = None
    image_pull_secrets: list[V1LocalObjectReference] = field(default_factory=list)
    image_pull_policy: str | None = None
    env: list[V1EnvVar] = field(default_factory=list)
    volumes: list[V1Volume] = field(default_factory=list)
    mounts: list[V1VolumeMount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    security_context: V1SecurityContext | None = None
    active_deadline_seconds: int | None = None


def pod_settings(
    platform: Mapping[str, Any], parameters: Mapping[str, Any], problems: Problems
) -> PodSettings:
    """The pod settings of ``platform``; every field it cannot apply is one of ``problems``."""
    root = Reader(platform, "platform", problems, parameters)
    out = PodSettings()
    _placement(root, out)
    _env(root, out)
    _volumes(root, out)
    _pod(root, out)
    problems.unread(root)
    return out


def _placement(root: Reader, out: PodSettings) -> None:
    selector = root.object("nodeSelector") if root.get("nodeSelector") is not None else None
    if selector is not None:
        out.node_selector.update(selector.strings("labels"))
        if selector.get("nodeSelectorJson") is not None:
            given = selector.parameter(
                selector.get("nodeSelectorJson"), selector.at("nodeSelectorJson")
            )
            if isinstance(given, Mapping):
                out.node_selector.update({str(k): str(v) for k, v in given.items()})
        root.problems.unread(selector)
    for item in root.items("tolerations"):
        out.tolerations.append(_toleration(item))
    required: list[V1NodeSelectorTerm] = []
    preferred: list[V1PreferredSchedulingTerm] = []
    for item in root.items("nodeAffinity"):
        if item.get("nodeAffinityJson") is not None:
            item.problems.add(
                item.at("nodeAffinityJson"),
                "is not supported by the Kubernetes backend yet: give matchExpressions",
            )
        term = V1NodeSelectorTerm(
            match_expressions=_requirements(item, "matchExpressions") or None,
            match_fields=_requirements(item, "matchFields") or None,
        )
        weight = item.integer("weight")
        if weight:
            preferred.append(V1PreferredSchedulingTerm(weight=weight, preference=term))
        else:
            required.append(term)
        item.problems.unread(item)
    if required or preferred:
        out.affinity = V1Affinity(
            node_affinity=V1NodeAffinity(
                required_during_scheduling_ignored_during_execution=(
                    V1NodeSelector(node_selector_terms=required) if required else None
                ),
                preferred_during_scheduling_ignored_during_execution=preferred or None,
            )
        )


def _toleration(item: Reader) -> V1Toleration:
    given = item.get("tolerationJson")
    if given is not None:
        value = item.parameter(given, item.at("tolerationJson"))
        item.problems.unread(item)
        if not isinstance(value, Mapping):
            return V1Toleration()
        item = item.child(value, item.at("tolerationJson"))
    operator = item.string("operator") or None
    effect = item.string("effect")
    if operator is not None and operator not in ("Equal", "Exists"):
        item.problems.add(item.at("operator"), f"is {operator!r}: use Equal or Exists")
    if effect not in _EFFECTS:
        item.problems.add(
            item.at("effect"), f"is {effect!r}: use NoSchedule, PreferNoSchedule or NoExecute"
        )
    toleration = V1Toleration(
        key=item.string("key") or None,
        operator=operator,
        value=item.string("value") or None,
        effect=effect or None,
        toleration_seconds=item.integer("tolerationSeconds"),
    )
    item.problems.unread(item)
    return toleration


def _requirements(item: Reader, key: str) -> list[V1NodeSelectorRequirement]:
    found = []
    for expression in item.items(key):
        operator = expression.string("operator")
        if operator not in _OPERATORS:
            expression.problems.add(
                expression.at("operator"), f"is {operator!r}: use one of {', '.join(_OPERATORS)}"
            )
        values = expression.get("values", [])
        found.append(
            V1NodeSelectorRequirement(
                key=expression.string("key"),
                operator=operator,
                values=[str(v) for v in values] or None,
            )
        )
        expression.problems.unread(expression)
    return found


def _env(root: Reader, out: PodSettings) -> None:
    for kind in ("secret", "configMap"):
        for item in root.items(f"{kind}AsEnv"):
            name = item.name(f"{kind}Name", f"{kind}NameParameter")
            optional = bool(item.get("optional", False)) or None
            for pair in item.items("keyToEnv"):
                key = pair.string(f"{kind}Key")
                variable = pair.string("envVar")
                if not key or not variable:
                    pair.problems.add(pair.path, f"needs {kind}Key and envVar")
                source = (
                    V1EnvVarSource(
                        secret_key_ref=V1SecretKeySelector(name=name, key=key, optional=optional)
                    )
                    if kind == "secret"
                    else V1EnvVarSource(
                        config_map_key_ref=V1ConfigMapKeySelector(
                            name=name, key=key, optional=optional
                        )
                    )
                )
                out.env.append(V1EnvVar(name=variable, value_from=source))
                pair.problems.unread(pair)
            item.problems.unread(item)
    for item in root.items("fieldPathAsEnv"):
        out.env.append(
            V1EnvVar(
                name=item.string("name"),
                value_from=V1EnvVarSource(
                    field_ref=V1ObjectFieldSelector(field_path=item.string("fieldPath"))
                ),
            )
        )
        item.problems.unread(item)


def _volumes(root: Reader, out: PodSettings) -> None:
    def add(prefix: str, name: str, item: Reader, sub_path: str = "", **source: Any) -> None:
        """A volume of ``source`` (``secret=...``), mounted at the item's ``mountPath``."""
        mount_path = item.string("mountPath")
        if not mount_path.startswith("/"):
            item.problems.add(item.at("mountPath"), f"is {mount_path!r}: give an absolute path")
        volume = V1Volume(name=dns_label(f"{prefix}-{name}-{len(out.volumes)}"), **source)
        out.volumes.append(volume)
        mount = V1VolumeMount(name=volume.name, mount_path=mount_path, sub_path=sub_path or None)
        out.mounts.append(mount)
        item.problems.unread(item)

    for item in root.items("secretAsVolume"):
        name = item.name("secretName", "secretNameParameter")
        optional = bool(item.get("optional", False)) or None
        secret = V1SecretVolumeSource(secret_name=name, optional=optional)
        add("secret", name, item, secret=secret)
    for item in root.items("configMapAsVolume"):
        name = item.name("configMapName", "configMapNameParameter")
        optional = bool(item.get("optional", False)) or None
        add("config", name, item, config_map=V1ConfigMapVolumeSource(name=name, optional=optional))
    for item in root.items("pvcMount"):
        name = str(
            item.name(
                "constant", "pvcNameParameter", "componentInputParameter", "taskOutputParameter"
            )
        )
        claim = V1PersistentVolumeClaimVolumeSource(claim_name=name)
        add("pvc", name, item, item.string("subPath"), persistent_volume_claim=claim)
    for item in root.items("genericEphemeralVolume"):
        template = _claim_template(item)
        ephemeral = V1EphemeralVolumeSource(volume_claim_template=template)
        add("ephemeral", item.string("volumeName"), item, ephemeral=ephemeral)
    for item in root.items("emptyDirMounts"):
        empty = V1EmptyDirVolumeSource(
            medium=item.string("medium") or None, size_limit=item.string("sizeLimit") or None
        )
        add("scratch", item.string("volumeName"), item, empty_dir=empty)
    if root.get("enabledSharedMemory") is not None:
        shared = root.object("enabledSharedMemory")
        size = shared.string("size") or None
        name = dns_label(f"shm-{shared.string('volumeName') or 'dshm'}")
        out.volumes.append(
            V1Volume(name=name, empty_dir=V1EmptyDirVolumeSource(medium="Memory", size_limit=size))
        )
        out.mounts.append(V1VolumeMount(name=name, mount_path="/dev/shm"))
        root.problems.unread(shared)


def _claim_template(item: Reader) -> V1PersistentVolumeClaimTemplate:
    size = item.string("size")
    if not size:
        item.problems.add(item.at("size"), "is required: give the volume's size, e.g. 5Gi")
    storage_class = item.string("storageClassName") or None
    if item.get("defaultStorageClass") and storage_class:
        item.problems.add(item.at("storageClassName"), "is set with defaultStorageClass: give one")
    meta = item.object("metadata") if item.get("metadata") is not None else None
    labels = meta.strings("labels") if meta else {}
    annotations = meta.strings("annotations") if meta else {}
    if meta is not None:
        item.problems.unread(meta)
    return V1PersistentVolumeClaimTemplate(
        metadata=V1ObjectMeta(labels=labels or None, annotations=annotations or None)
        if meta
        else None,
        spec=V1PersistentVolumeClaimSpec(
            access_modes=[str(m) for m in item.get("accessModes", [])] or ["ReadWriteOnce"],
            resources=V1VolumeResourceRequirements(requests={"storage": size}),
            storage_class_name=storage_class,
        ),
    )


def _pod(root: Reader, out: PodSettings) -> None:
    for item in root.items("imagePullSecret"):
        out.image_pull_secrets.append(
            V1LocalObjectReference(name=item.name("secretName", "secretNameParameter"))
        )
        item.problems.unread(item)
    policy = root.string("imagePullPolicy")
    if policy and policy not in PULL_POLICIES:
        root.problems.add(
            root.at("imagePullPolicy"), f"is {policy!r}: use {', '.join(PULL_POLICIES)}"
        )
    out.image_pull_policy = policy or None
    if root.get("podMetadata") is not None:
        meta = root.object("podMetadata")
        out.labels = meta.strings("labels")
        out.annotations = meta.strings("annotations")
        for key in [*out.labels, *out.annotations]:
            if key.startswith(_RESERVED):
                root.problems.add(meta.at(key), "is a key Headrace sets itself: use another key")
        root.problems.unread(meta)
    if root.get("securityContext") is not None:
        context = root.object("securityContext")
        non_root = context.get("runAsNonRoot")
        out.security_context = V1SecurityContext(
            run_as_user=context.integer("runAsUser"),
            run_as_group=context.integer("runAsGroup"),
            run_as_non_root=bool(non_root) if non_root is not None else None,
        )
        root.problems.unread(context)
    deadline = root.integer("activeDeadlineSeconds")
    if deadline is not None and deadline < 1:
        root.problems.add(root.at("activeDeadlineSeconds"), f"is {deadline}: give at least 1")
        deadline = None
    out.active_deadline_seconds = deadline
