"""The HTTP API's server inside the service process: uvicorn on the service's event loop,
on a socket bound before it starts (so the URL is known, and a taken port is handled)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from .settings import HttpSettings

log = logging.getLogger("headrace.metadata.api")
GRACE_SECONDS = 5


class _Embedded(uvicorn.Server):
    """uvicorn without its signal handlers: the service's lifecycle owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; on a free port when ``port`` is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for attempt in (port, 0):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: uvicorn writes a response's head and body apart,
        # and with Nagle's algorithm the body of every request after the first on a
        # kept-alive connection waited for the client's delayed ACK (40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((host, attempt))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or attempt == 0:
                raise OSError(
                    exc.errno,
                    f"cannot serve the HTTP API on {host}:{attempt} ({exc.strerror}): set "
                    "HEADRACE_METADATA_HTTP_HOST/_PORT to an address of this machine, or "
                    "HEADRACE_METADATA_HTTP_ENABLED=false",
                ) from exc
            log.warning(
                "HTTP port %d on %s is taken (another replica?): serving on a free port; "
                "`headrace status` shows it",
                port,
                host,
            )
            continue
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise AssertionError("unreachable")


def url_of(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


class HttpServer:
    """``app`` served where ``settings`` say, from :meth:`start` to :meth:`stop`."""

    def __init__(self, app: FastAPI, settings: HttpSettings) -> None:
        self._app = app
        self._settings = settings
        self._server: _Embedded | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.url = ""

    async def start(self) -> str:
        """Listen and serve; the base URL (``http://host:port``) once requests are taken."""
        self._socket = bind(self._settings.host, self._settings.port)
        # proxy_headers off: the client address stays the connection's peer, which is what
        # HEADRACE_API_TRUSTED_PROXIES is checked against (see api/access/identity.py).
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            access_log=False,
            log_level="warning",
            log_config=None,
            proxy_headers=False,
            timeout_graceful_shutdown=GRACE_SECONDS,  # a stream a client holds open
        )
        self._server = _Embedded(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                await self._task  # raises what stopped it
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        self.url = url_of(self._socket, self._settings.host)
        return self.url

    async def stop(self) -> None:
        """Stop taking requests, finish those in flight, close the socket."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
