"""One platform per dashboard API test module: the scheduler, a trainer and the metadata
service (its HTTP API on a free port) on a real nats-server, optionally the tuner; a small
client of the API, and a reader of its Server-Sent Events in a thread of its own."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from registry_platform import Platform

from headrace import Client
from headrace_contracts.access import new_token_secret, token_digest
from headrace_metadata.api import HttpSettings
from headrace_metadata.api.access import AccessSettings
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Service
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import nats_for_test, service_settings
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings

T = TypeVar("T")


def eventually(read: Callable[[], T], ok: Callable[[T], bool], timeout: float = 30.0) -> T:
    """``read()`` once ``ok`` of it holds (the read model records a moment after the
    scheduler knows); fails with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout:g}s: {value!r}")
        time.sleep(0.05)


@dataclass
class Dash:
    platform: Platform
    metadata: Service
    http: httpx.Client
    client: Client
    home: Path

    @property
    def base(self) -> str:
        return self.metadata.endpoints["http"]

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"{self.base}{path}", params=params)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(f"{self.base}{path}", json=body)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def error(self, response: httpx.Response, status: int) -> str:
        assert response.status_code == status, response.text
        body = response.json()
        assert list(body) == ["error"], body
        return str(body["error"])

    def events(self, **params: str) -> Events:
        return Events(f"{self.base}/events", params, headers=dict(self.http.headers))


@contextmanager
def dashboard_platform(root: Path, *, tuner: bool = False) -> Iterator[Dash]:
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url)
        platform = Platform(settings)
        try:
            platform.start(build_scheduler(settings))
            platform.start(build_trainer(settings, trainer=TrainerSettings(concurrency=4)))
            if tuner:
                from headrace_tuner.app import build as build_tuner

                platform.start(build_tuner(settings, interval=0.2))
            admin = new_token_secret()  # as `headrace up` makes one; the API needs a token
            access = AccessSettings(admin_token_sha256=token_digest(admin))
            metadata = platform.start(
                build_metadata(settings, http=HttpSettings(port=0), access=access)
            )
            auth = {"Authorization": f"Bearer {admin}"}
            with (
                httpx.Client(timeout=30, headers=auth) as http,
                Client(nats_url=nats.url, timeout=10) as client,
            ):
                yield Dash(platform, metadata, http, client, root / "home")
        finally:
            platform.stop()


class Events:
    """``GET /events`` read in a background thread; :meth:`wait` for what has arrived.
    Connected (the ``: listening`` comment read) once the constructor returns."""

    def __init__(
        self,
        url: str,
        params: dict[str, str],
        *,
        first_comment: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.received: list[dict[str, Any]] = []  # {"event", "id", "data"} per event
        self.comments: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._http = httpx.Client(timeout=httpx.Timeout(10, read=60), headers=headers)
        self._response = self._http.send(
            self._http.build_request("GET", url, params=params), stream=True
        )
        assert self._response.status_code == 200, self._response.read()
        assert self._response.headers["content-type"].startswith("text/event-stream")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if first_comment:
            self.wait(lambda: bool(self.comments), what="the stream's first comment")

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self._response.iter_lines():
                with self._changed:
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line == "":
                        if fields:
                            fields["data"] = json.loads(fields.get("data", "null"))
                            self.received.append(fields)
                        fields = {}
                    else:
                        key, _, value = line.partition(":")
                        fields[key] = value.removeprefix(" ")
                    self._changed.notify_all()
        except httpx.HTTPError:
            pass
        finally:
            with self._changed:
                self.ended = True
                self._changed.notify_all()

    def wait(self, ok: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ok():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not so after {timeout}s: {what}; got {self.received}")
                self._changed.wait(left)

    def of_run(self, run_id: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["data"]["data"].get("run_id") == run_id]

    def close(self) -> None:
        """Hang up (the reader thread, blocked reading, wakes as the socket shuts)."""
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the event reader did not stop"
        self._response.close()
        self._http.close()


def first_comment(url: str, headers: dict[str, str] | None = None) -> str:
    """The first comment of the event stream at ``url``, read and hung up in this thread."""
    with httpx.Client(timeout=30, headers=headers) as http, http.stream("GET", url) as response:
        for line in response.iter_lines():
            if line.startswith(":"):
                return line[1:].strip()
    raise AssertionError(f"{url} sent no comment")
