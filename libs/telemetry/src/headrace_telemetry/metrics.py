"""OpenTelemetry metrics for one service process, served to Prometheus.

Each process gets its own meter provider and its own Prometheus registry (never the global
one: tests and `headrace up --scale` may run several services in one process), read by
OpenTelemetry's Prometheus reader and served on ``http://HOST:PORT/metrics``:

``HEADRACE_METRICS_PORT``  the port; ``0`` (the default) takes any free one, which the
                           service shows in its ``Pong`` (``headrace status``); ``off``: no
                           endpoint, the instruments still count.
``HEADRACE_METRICS_HOST``  the address it listens on, ``127.0.0.1`` by default (``0.0.0.0``
                           in a pod, for the cluster's Prometheus to scrape).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, start_http_server

from .setup import SERVICE_NAMESPACE

PORT_SETTING = "HEADRACE_METRICS_PORT"
HOST_SETTING = "HEADRACE_METRICS_HOST"


class MetricsSettingError(ValueError):
    """A metrics setting that cannot be used; the message names it and the fix."""


@dataclass
class Metrics:
    """The process's meter provider and, unless turned off, its ``/metrics`` endpoint."""

    provider: MeterProvider
    url: str = ""
    """``http://host:port/metrics``; "" when the endpoint is off."""
    _server: WSGIServer | None = field(default=None, repr=False)

    def shutdown(self) -> None:
        """Stop the endpoint and the provider. The endpoint's server notices within half a
        second; that wait happens on a thread of its own, so stopping a service does not."""
        server, self._server = self._server, None
        if server is not None:
            threading.Thread(target=_close, args=(server,), daemon=True).start()
        self.provider.shutdown()


def _close(server: WSGIServer) -> None:
    server.shutdown()
    server.server_close()


def start_metrics(
    service_name: str,
    *,
    instance_id: str = "",
    env: Mapping[str, str] | None = None,
    readers: tuple[MetricReader, ...] = (),
) -> Metrics:
    """The meter provider of one service process, with its Prometheus endpoint started as the
    environment says (see the module docstring); ``readers`` are added (tests read with an
    in-memory one). `MetricsSettingError` for a port or host that cannot be used."""
    env = os.environ if env is None else env
    port = _port(env.get(PORT_SETTING, "0"))
    host = env.get(HOST_SETTING, "127.0.0.1") or "127.0.0.1"
    attributes = {
        "service.name": f"headrace-{service_name}",
        "service.namespace": SERVICE_NAMESPACE,
    }
    if instance_id:
        attributes["service.instance.id"] = instance_id
    resource = Resource.create(attributes)
    if port is None:
        return Metrics(_provider(resource, list(readers)))
    registry = CollectorRegistry(auto_describe=True)
    prometheus = PrometheusMetricReader(registry=registry)
    provider = _provider(resource, [prometheus, *readers])
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        provider.shutdown()
        raise MetricsSettingError(
            f"the metrics endpoint cannot listen on {host}:{port} ({exc.strerror or exc}): "
            f"set {PORT_SETTING} to a free port (0: any free one, off: no endpoint) or "
            f"{HOST_SETTING} to an address of this machine"
        ) from exc
    bound_host, bound_port = server.server_address[:2]
    shown = "127.0.0.1" if bound_host in ("0.0.0.0", "::") else str(bound_host)
    if ":" in shown:
        shown = f"[{shown}]"
    return Metrics(provider, f"http://{shown}:{bound_port}/metrics", server)


def _port(text: str) -> int | None:
    value = text.strip().lower()
    if value in ("off", "false", "no", "none"):
        return None
    if not value:
        return 0
    if value.isdigit() and int(value) <= 65535:
        return int(value)
    raise MetricsSettingError(
        f"{PORT_SETTING}={text!r} is not a port: give a number from 0 to 65535 (0: any free "
        "port) or 'off' for no metrics endpoint"
    )


def _provider(resource: Resource, readers: list[MetricReader]) -> MeterProvider:
    """No exemplars: nothing reads them (the Prometheus endpoint shows none), and sampling
    one costs about a third of a measurement, taken for every message handled."""
    return MeterProvider(
        resource=resource, metric_readers=readers, exemplar_filter=AlwaysOffExemplarFilter()
    )
