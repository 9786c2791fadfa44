"""The metadata service with its HTTP API on a free port, access on (as by default), on a
real nats-server; the admin token ``headrace up`` would give it; the audit and token events
recorded from the bus; and extra apps over the same database (other access settings, a
write route of their own) served beside it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request

from headrace.cli import main
from headrace_contracts.access import new_token_secret, token_digest
from headrace_metadata.api import AccessSettings, HttpServer, HttpSettings, create_app
from headrace_metadata.api.access import AuditTrail
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Service, Settings
from headrace_testing import database_url_for, nats_for_test, service_settings, wait_for
from headrace_testing.background import Background

ADMIN_NAME = "local-admin-tests"


class Recorder(Background):
    """Services on a background loop, recording ``headrace.audit.>`` and
    ``headrace.access.>`` (the audit trail and the token events) from the bus."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.nats_url, "headrace.audit.>", "headrace.access.>")
        self.settings = settings


@dataclass
class Access:
    platform: Recorder
    metadata: Service
    admin: str
    servers: list[HttpServer] = field(default_factory=list)

    @property
    def base(self) -> str:
        """``http://host:port`` of the metadata service's HTTP server."""
        return self.metadata.endpoints["http"].removesuffix("/api/v1")

    def cli(self, *argv: str) -> int:
        return main(["token", *argv, "--nats-url", self.platform.url])

    def wait(self, found: Any, what: str, timeout: float = 15) -> None:
        self.platform.run(wait_for(lambda: bool(found()), timeout, what))

    def app(self, settings: AccessSettings) -> str:
        """Another app over the service's database, with ``settings`` and a write route of
        its own (``POST /api/v1/echo/{item}``, answering who asked), served on a free port;
        its base URL."""
        assert self.metadata.engine is not None
        audit = AuditTrail(self.metadata.engine, self.platform.bus, "tests/access")
        app = create_app(self.metadata.engine, access_settings=settings, audit=audit)

        @app.post("/api/v1/echo/{item}")
        async def echo(item: str, request: Request) -> dict[str, str]:
            who = request.state.identity
            return {"item": item, "actor": who.actor, "role": who.role, "method": who.method}

        server = HttpServer(app, HttpSettings(port=0))
        self.servers.append(server)
        return self.platform.run(server.start())


def access_platform(kind: str, root: Path) -> Iterator[Access]:
    with nats_for_test(root) as nats:
        settings = service_settings(
            root / "home", nats.url, database_url=database_url_for(kind, root)
        )
        platform = Recorder(settings)
        admin = new_token_secret()
        access = AccessSettings(admin_token_sha256=token_digest(admin), admin_token_name=ADMIN_NAME)
        try:
            metadata = platform.start(
                build_metadata(settings, http=HttpSettings(port=0), access=access)
            )
            found = Access(platform, metadata, admin)
            yield found
            for server in found.servers:
                platform.run(server.stop())
        finally:
            platform.stop()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def get(
    url: str, secret: str = "", headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    sent = {**(bearer(secret) if secret else {}), **(headers or {})}
    return httpx.get(url, headers=sent, timeout=10, **kwargs)


def post(
    url: str, secret: str = "", headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    sent = {**(bearer(secret) if secret else {}), **(headers or {})}
    return httpx.post(url, headers=sent, timeout=10, **kwargs)
