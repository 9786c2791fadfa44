"""The InferenceService read model: the serving service's ``InferenceServiceUpdated`` views,
served by the HTTP API (``/api/v1/inferenceservices``)."""

from __future__ import annotations

from headrace_contracts import InferenceServiceUpdated

from ..ingest import Ingest
from .fold import get_inference_service, list_inference_services, record_inference_service
from .tables import TABLES, InferenceServiceRow

__all__ = [
    "TABLES",
    "InferenceServiceRow",
    "get_inference_service",
    "list_inference_services",
    "record_inference_service",
    "register",
]


def register(ingest: Ingest) -> None:
    ingest.on(InferenceServiceUpdated, record_inference_service)
