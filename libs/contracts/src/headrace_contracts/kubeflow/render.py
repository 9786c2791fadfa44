"""A trial's training-job manifest from an experiment's trial template (pure).

``${trialParameters.NAME}`` in any string of the trialSpec becomes the value of the parameter
the trial parameter references (or the trial's name, namespace, kind or apiVersion for the
``${trialSpec.Name}``-style references); the trial's name and namespace become the job's. A
``batch/v1`` Job becomes a one-replica PyTorchJob (its pod template, restart policy, backoff
limit and deadline kept), since the trainer runs every trial as a training job.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .experiment import TrialTemplate

__all__ = ["JOB_FIELDS", "META_REFERENCES", "placeholders", "render_trial"]

META_REFERENCES = ("${trialSpec.Name}", "${trialSpec.Namespace}", "${trialSpec.Kind}",
                   "${trialSpec.APIVersion}")  # fmt: skip
JOB_FIELDS = ("template", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished")
"""The fields of a batch/v1 Job's spec a trial keeps."""

_PLACEHOLDER = re.compile(r"\$\{trialParameters\.([^}]*)\}")


def placeholders(value: Any) -> set[str]:
    """Every trial parameter name ``value`` (a JSON-like tree) refers to."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value)) if value else set()
    return set()


def render_trial(
    template: TrialTemplate, name: str, namespace: str, assignments: dict[str, str]
) -> dict[str, Any]:
    """The manifest of trial ``name``, its parameters ``assignments`` (name -> text)."""
    kind = "PyTorchJob" if template.kind == "Job" else template.kind
    api = "kubeflow.org/v1" if template.kind == "Job" else template.api_version
    meta = dict(
        zip(META_REFERENCES, (name, namespace, template.kind, template.api_version), strict=True)
    )
    values = {
        p.name: meta[p.reference] if p.reference in meta else assignments[p.reference]
        for p in template.parameters
    }
    spec = _substitute(copy.deepcopy(template.spec), values)
    metadata = dict(spec.get("metadata") or {})
    metadata.update(name=name, namespace=namespace)
    body = spec.get("spec") or {}
    if template.kind == "Job":
        body = _job_as_pytorchjob(body)
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": body}


def _substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    return value


def _job_as_pytorchjob(job: dict[str, Any]) -> dict[str, Any]:
    template = dict(job.get("template") or {})
    pod = dict(template.get("spec") or {})
    restart = pod.pop("restartPolicy", "") or "Never"
    template["spec"] = pod
    run_policy = {
        key: job[key]
        for key in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished")
        if key in job
    }
    master = {"replicas": 1, "restartPolicy": restart, "template": template}
    return {"runPolicy": run_policy, "pytorchReplicaSpecs": {"Master": master}}
