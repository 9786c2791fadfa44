"""Revision names and the digest that decides whether an apply makes a new revision."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from headrace_contracts.kubeflow import InferenceServiceSpec

from ..dataplane import RevisionPlan

__all__ = ["predictor_digest", "revision_name", "revision_plan"]

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


def revision_plan(
    spec: InferenceServiceSpec,
    name: str,
    storage_uri: str,
    model_version: str | None,
    env: Mapping[str, str],
    trace_context: Mapping[str, str] | None = None,
) -> RevisionPlan:
    """What revision ``name`` of ``spec`` runs, loading ``storage_uri``; ``trace_context``:
    the W3C headers of the trace that made it."""
    return RevisionPlan(
        name=name,
        model_name=spec.name,
        storage_uri=storage_uri,
        model_format=spec.model_format,
        model_version=model_version,
        min_replicas=spec.min_replicas,
        max_replicas=spec.max_replicas,
        scale_target=spec.scale_target,
        container_concurrency=spec.container_concurrency,
        max_batch_size=spec.batcher.max_batch_size if spec.batcher else 1,
        max_latency_ms=float(spec.batcher.max_latency_ms) if spec.batcher else 5.0,
        env=dict(env),
        namespace=spec.namespace,
        requests=dict(spec.requests),
        limits=dict(spec.limits),
        trace_context=dict(trace_context or {}),
    )
