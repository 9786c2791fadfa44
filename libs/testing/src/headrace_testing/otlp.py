"""An OTLP/HTTP trace receiver in the test process: what services and their workloads export
to ``OTEL_EXPORTER_OTLP_ENDPOINT``, parsed from the protobuf as a collector would.

``POST /v1/traces`` bodies (plain or gzip) are parsed as ``ExportTraceServiceRequest``;
each span is kept with the ``service.name`` of its resource. ``/v1/metrics`` and ``/v1/logs``
are accepted and dropped (a model server exports its metrics to the same endpoint).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["OtlpReceiver", "ReceivedSpan", "otlp_receiver"]


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    """The ``service.name`` of the resource that exported it."""
    span: Span

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_id(self) -> str:
        """The parent span's id; "" for a root span."""
        return self.span.parent_span_id.hex()

    @property
    def attributes(self) -> dict[str, object]:
        found: dict[str, object] = {}
        for item in self.span.attributes:
            kind = item.value.WhichOneof("value")
            found[item.key] = getattr(item.value, kind) if kind else None
        return found


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    receiver._add(request)
                    answer = ExportTraceServiceResponse().SerializeToString()
                elif self.path in ("/v1/metrics", "/v1/logs"):
                    answer = b""
                else:
                    self.send_error(404, f"no OTLP endpoint {self.path}")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        """What ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set to (the exporters add ``/v1/traces``)."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _add(self, request: ExportTraceServiceRequest) -> None:
        added = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                added += [ReceivedSpan(service, span) for span in scope_spans.spans]
        with self._changed:
            self.spans += added
            self.requests += 1
            self._changed.notify_all()

    def wait_for(
        self, ok: Callable[[list[ReceivedSpan]], bool], what: str, timeout: float = 60.0
    ) -> list[ReceivedSpan]:
        """The spans received, once ``ok`` of them holds (woken by each export)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ok(list(self.spans)):
                left = deadline - time.monotonic()
                if left <= 0:
                    names = sorted({f"{s.service}: {s.name}" for s in self.spans})
                    raise AssertionError(f"not received within {timeout:g} s: {what}; got {names}")
                self._changed.wait(left)
            return list(self.spans)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    try:
        yield receiver
    finally:
        receiver.close()
