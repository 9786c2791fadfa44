"""Persistent HTTP/1.1 connections from the router to one replica.

Each replica has a pool of keep-alive connections; a request takes an idle one (or opens a
new one), writes the whole request, and gets the whole response back through a callback once
``httptools`` has parsed it. No task and no future per request.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast

import httptools

from .headers import HOP_BY_HOP

__all__ = ["UpstreamConnection", "UpstreamError", "UpstreamPool", "UpstreamResponse"]

IDLE_LIMIT = 4.0
"""Seconds an idle connection is reused: below uvicorn's keep-alive timeout (5 s), so the
router does not write into a connection the model server is closing."""


class UpstreamError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        """No answer has begun: sending the request again, elsewhere, is safe."""


class UpstreamResponse:
    __slots__ = ("body", "content_type", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[bytes], body: bytes, content_type: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        """``name: value\\r\\n`` lines, hop-by-hop ones and Content-Length left out."""
        self.body = body
        self.content_type = content_type


Callback = Callable[[UpstreamResponse | None, UpstreamError | None], None]


class UpstreamConnection(asyncio.Protocol):
    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.callback: Callback | None = None
        self.reason = b""
        self.headers: list[bytes] = []
        self.body: list[bytes] = []
        self.content_type = b""
        self.received = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data: bytes, callback: Callback) -> None:
        assert self.transport is not None
        self.callback = callback
        self.received = False
        self.transport.write(data)

    # httptools callbacks ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"bad response from the model server: {exc}", retryable=False))

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower in HOP_BY_HOP:
            return
        if lower == b"content-type":
            self.content_type = value
        self.headers.append(b"%s: %s\r\n" % (name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        response = UpstreamResponse(
            self.parser.get_status_code(),
            self.reason,
            self.headers,
            b"".join(self.body),
            self.content_type,
        )
        callback = self.callback
        self.callback = None
        self.reason = b""
        self.headers = []
        self.body = []
        self.content_type = b""
        if self.parser.should_keep_alive():
            self.pool.release(self)
        elif self.transport is not None:
            self.transport.close()
        if callback is not None:
            callback(response, None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.discard(self)
        if self.callback is not None:
            # Nothing of an answer came: the server closed a kept-alive connection as the
            # request went out, or died before reading it. Inference has no side effects, so
            # the request may go to another replica (a bounded number of times).
            retryable = not self.received
            self._fail(UpstreamError("the model server closed the connection", retryable=retryable))

    def _fail(self, error: UpstreamError) -> None:
        callback = self.callback
        self.callback = None
        if self.transport is not None:
            self.transport.close()
        if callback is not None:
            callback(None, error)


class UpstreamPool:
    """Keep-alive connections to one replica (``host:port``)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.idle: list[UpstreamConnection] = []
        self.closed = False

    def take(self) -> UpstreamConnection | None:
        """An idle connection, most recently used first; None if there is none."""
        idle = self.idle
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            transport = connection.transport
            if transport is None or transport.is_closing():
                continue
            if now - connection.idle_since > IDLE_LIMIT:
                transport.close()
                continue
            return connection
        return None

    async def connect(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await loop.create_connection(
                lambda: UpstreamConnection(self), self.host, self.port
            )
        except OSError as exc:
            raise UpstreamError(
                f"cannot connect to the model server at {self.host}:{self.port}: {exc}",
                retryable=True,
            ) from None
        return protocol

    def release(self, connection: UpstreamConnection) -> None:
        if self.closed:
            if connection.transport is not None:
                connection.transport.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self.idle.append(connection)

    def discard(self, connection: UpstreamConnection) -> None:
        if connection in self.idle:
            self.idle.remove(connection)

    def close(self) -> None:
        self.closed = True
        idle, self.idle = self.idle, []
        for connection in idle:
            if connection.transport is not None:
                connection.transport.close()
