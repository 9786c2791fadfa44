"""What the router measures of the requests it serves, per InferenceService and revision.

``headrace.inference.requests``  requests answered, by ``inference_service``, ``revision``
                                 ("" when none took it) and ``http.response.status_code``
``headrace.inference.duration``  seconds from the request parsed to its answer sent, by
                                 ``inference_service`` and ``revision``

Prometheus shows them as ``headrace_inference_requests_total`` and
``headrace_inference_duration_seconds``; errors are the requests with a 5xx status.
"""

from __future__ import annotations

from opentelemetry.metrics import Meter

from ..dataplane import ServiceKey


class RequestMetrics:
    def __init__(self, meter: Meter) -> None:
        self._requests = meter.create_counter(
            "headrace.inference.requests", unit="{request}", description="requests answered"
        )
        self._duration = meter.create_histogram(
            "headrace.inference.duration",
            unit="s",
            description="time from a request's arrival to its answer",
        )

    def record(self, key: ServiceKey, revision: str, status: int, seconds: float) -> None:
        where = {"inference_service": str(key), "revision": revision}
        self._requests.add(1, {**where, "http.response.status_code": status})
        self._duration.record(seconds, where)
