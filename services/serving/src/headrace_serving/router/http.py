"""The router's front end: HTTP/1.1 from clients, parsed by ``httptools``.

Each connection is keep-alive unless the client says otherwise; requests on one connection
are answered in order (a pipelined request waits for the one before it). The whole request
body is read (chunked or not) before the request is routed.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from typing import Protocol, cast

import httptools

from .headers import HOP_BY_HOP, error_response

__all__ = ["FrontProtocol", "Request", "RequestHandler"]


class Request:
    __slots__ = ("body", "content_type", "headers", "keep_alive", "method", "request_id", "url")

    def __init__(
        self,
        method: bytes,
        url: bytes,
        headers: list[bytes],
        body: bytes,
        keep_alive: bool,
        request_id: bytes,
        content_type: bytes,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        self.request_id = request_id
        self.content_type = content_type


class RequestHandler(Protocol):
    connections: set[FrontProtocol]

    def handle(self, request: Request, client: FrontProtocol) -> None:
        """Answer ``request`` later through ``client.reply``."""


class FrontProtocol(asyncio.Protocol):
    def __init__(self, handler: RequestHandler) -> None:
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[bytes] = []
        self.body: list[bytes] = []
        self.request_id = b""
        self.content_type = b""
        self.busy = False
        self.keep_alive = True
        self.pending: collections.deque[Request] = collections.deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.handler.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.handler.connections.discard(self)
        self.transport = None
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse("the router does not upgrade connections")
        except httptools.HttpParserError as exc:
            self._refuse(f"malformed HTTP request: {exc}")

    def _refuse(self, message: str) -> None:
        if self.transport is not None:
            self.transport.write(error_response(400, message, keep_alive=False))
            self.transport.close()

    # httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []
        self.request_id = b""
        self.content_type = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower in HOP_BY_HOP:
            if lower == b"expect" and value.lower() == b"100-continue" and self.transport:
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if lower == b"x-request-id":
            self.request_id = value
        elif lower == b"content-type":
            self.content_type = value
        self.headers.append(b"%s: %s\r\n" % (name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        request = Request(
            self.parser.get_method(),
            self.url,
            self.headers,
            b"".join(self.body),
            self.parser.should_keep_alive(),
            self.request_id,
            self.content_type,
        )
        if self.busy:
            self.pending.append(request)
        else:
            self.busy = True
            self.keep_alive = request.keep_alive
            self.handler.handle(request, self)

    # answers ---------------------------------------------------------------------------

    def reply(self, data: bytes) -> None:
        """The answer to the request in progress; then the next pipelined one, if any."""
        transport = self.transport
        if transport is None:
            return
        transport.write(data)
        if not self.keep_alive:
            transport.close()
            return
        if self.pending:
            request = self.pending.popleft()
            self.keep_alive = request.keep_alive
            self.handler.handle(request, self)
        else:
            self.busy = False

    def close_idle(self) -> None:
        """Close the connection if no request is in progress on it (the service closes)."""
        if not self.busy and self.transport is not None:
            self.transport.close()
