"""Headrace: the SDK (:class:`Client`) and the ``headrace`` command.

The client is imported on first use, so ``headrace up``/``down``/``status`` do not pay
for the bus and the pipeline compiler.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Client
    from .dashboard_access import DashboardUnavailable, dashboard_login_url
    from .metrics import report_metrics
    from .run_errors import (
        BadListQuery,
        ClientError,
        PipelineLoadError,
        PlatformUnavailable,
        RunExistsError,
        RunNotFound,
        RunRejectedError,
        RunTimeout,
    )
    from .schedule_client import ScheduleNotFound, ScheduleRejectedError

_EXPORTS = {
    "BadListQuery": "run_errors",
    "Client": "client",
    "DashboardUnavailable": "dashboard_access",
    "dashboard_login_url": "dashboard_access",
    "ClientError": "run_errors",
    "PipelineLoadError": "run_errors",
    "PlatformUnavailable": "run_errors",
    "RunExistsError": "run_errors",
    "RunNotFound": "run_errors",
    "RunRejectedError": "run_errors",
    "RunTimeout": "run_errors",
    "ScheduleNotFound": "schedule_client",
    "ScheduleRejectedError": "schedule_client",
    "report_metrics": "metrics",
}

__all__ = [
    "BadListQuery",
    "Client",
    "ClientError",
    "DashboardUnavailable",
    "PipelineLoadError",
    "PlatformUnavailable",
    "RunExistsError",
    "RunNotFound",
    "RunRejectedError",
    "RunTimeout",
    "ScheduleNotFound",
    "ScheduleRejectedError",
    "dashboard_login_url",
    "report_metrics",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'headrace' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
