"""Revision names and the digest that decides whether an apply makes a new revision."""

from __future__ import annotations

import hashlib
import json

from headrace_contracts.kubeflow import InferenceServiceSpec

__all__ = ["predictor_digest", "revision_name"]

# What changes traffic or bookkeeping only, never what a replica runs.
_NOT_IN_REVISION = {"canary_traffic_percent", "labels", "annotations", "storage", "api_version"}


def revision_name(service: str, number: int) -> str:
    """``iris``, 1 -> ``iris-predictor-00001`` (KServe/Knative style; never reused)."""
    return f"{service}-predictor-{number:05d}"


def predictor_digest(spec: InferenceServiceSpec, storage_uri: str) -> str:
    """``sha256:<hex>`` of what a revision runs: the predictor spec with the storage it loads
    (``storage_uri`` resolved: ``models:/iris@production`` -> ``models:/iris/3``), without
    ``canaryTrafficPercent``, which only moves traffic."""
    fields = spec.model_dump(mode="json", exclude=_NOT_IN_REVISION)
    fields["storage_uri"] = storage_uri
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
