"""A real nats-server for tests: one per test (it starts in milliseconds), or the server
named by ``NATS_URL``, whose Headrace streams are then deleted before each test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.js.errors import NotFoundError

from headrace.natsserver import NatsServer


@dataclass
class TestNats:
    __test__ = False  # not a test class, despite its name

    url: str
    server: NatsServer | None  # None when external

    def restart(self) -> None:
        if self.server is None:
            raise RuntimeError("cannot restart an external NATS_URL server")
        self.server.restart()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def start(self) -> None:
        if self.server is not None:
            self.server.start()


async def _reset_streams(url: str, names: tuple[str, ...] = ("HEADRACE", "HEADRACE_DLQ")) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for name in names:
            with suppress(NotFoundError):
                await js.delete_stream(name)
    finally:
        await nc.close()


@contextmanager
def nats_for_test(tmp_dir: Path) -> Iterator[TestNats]:
    external = os.environ.get("NATS_URL")
    if external:
        asyncio.run(_reset_streams(external))
        yield TestNats(url=external, server=None)
        return
    server = NatsServer(store_dir=tmp_dir / "nats").start()
    try:
        yield TestNats(url=server.url, server=server)
    finally:
        server.stop()
