"""A streamed API response (a watch, a followed pod log) read in a thread, its lines handed to
the event loop as they come.

The official client is synchronous; a watch or ``follow=true`` log is one long HTTP
response. `Lines` opens it in a worker thread (``open`` returns the urllib3 response of a
call made with ``_preload_content=False``), reads it line by line and puts each line on an
asyncio queue; ``close`` (from the loop) closes the response, which ends the thread's read.
An error of the call or the read is raised from the iterator, after the lines before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Lines"]

_END = object()


class Lines:
    """The lines (bytes decoded as UTF-8, without line ends) of one streamed response:
    `start` it, then `get` each line (None at the end of the response)."""

    def __init__(self, open_response: Callable[[], Any], *, name: str) -> None:
        self._open = open_response
        self._name = name
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._response: Any = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._ended = False

    def start(self) -> Lines:
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=self._read, args=(loop,), name=f"k8s-{self._name}", daemon=True
        ).start()
        return self

    async def get(self) -> str | None:
        """The next line; None once the response ended; the call's or read's error raised."""
        if self._ended:
            return None
        item = await self._queue.get()
        if item is _END:
            self._ended = True
            return None
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        assert isinstance(item, str)
        return item

    def close(self) -> None:
        """End the read (safe from any thread, more than once): the socket is shut down, so
        the thread's blocked read returns (closing the response itself from another thread
        would wait for that read)."""
        self._closed.set()
        with self._lock:
            response = self._response
        sock = getattr(getattr(response, "_connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        def put(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._queue.put_nowait, item)

        failed: BaseException | None = None
        try:
            response = self._open()
            with self._lock:
                self._response = response
            if self._closed.is_set():
                self.close()
            pending = b""
            for chunk in response.stream(amt=None, decode_content=False):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    put(line.decode("utf-8", errors="replace").rstrip("\r"))
            if pending:
                put(pending.decode("utf-8", errors="replace"))
        except BaseException as error:
            failed = error
        finally:
            with contextlib.suppress(Exception):
                if self._response is not None:
                    if self._closed.is_set():
                        self._response.close()  # its connection is shut: not for reuse
                    else:
                        self._response.release_conn()
            put(failed if failed is not None and not self._closed.is_set() else _END)
