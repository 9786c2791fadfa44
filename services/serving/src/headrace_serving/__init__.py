"""Headrace serving manager: KServe InferenceServices."""

from .dataplane import (
    Fleet,
    FleetError,
    FleetEvents,
    LoggerPlan,
    RevisionPlan,
    RevisionStatus,
    ServiceKey,
    Traffic,
)
from .fleet import LocalFleet

__all__ = [
    "Fleet",
    "FleetError",
    "FleetEvents",
    "LocalFleet",
    "LoggerPlan",
    "RevisionPlan",
    "RevisionStatus",
    "ServiceKey",
    "Traffic",
]
