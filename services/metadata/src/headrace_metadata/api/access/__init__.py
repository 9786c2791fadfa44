"""Access to the HTTP API and dashboard: tokens (``viewer``, ``editor``, ``admin``) or a
trusted OIDC proxy's identity header, one role check per request by its method and path, and
an audit event on the bus for every write (see ``docs/access.md``).

* :func:`install` puts the gate (:class:`AccessMiddleware`) and the admin routes on an app;
* :func:`register` gives the metadata service the token commands, the token query and, at
  start, the admin token ``headrace up`` asks for.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from headrace_contracts import CreateApiToken, ListApiTokens, Reply, RevokeApiToken
from headrace_runtime import OutboxRelay, Service

from ...ingest import Ingest
from .audit import AuditTrail
from .handlers import bootstrap_admin, create_token, revoke_token
from .identity import Identity
from .middleware import AccessMiddleware
from .routes import router
from .settings import AccessSettings
from .tables import TABLES
from .tokens import list_tokens

__all__ = [
    "TABLES",
    "AccessMiddleware",
    "AccessSettings",
    "AuditTrail",
    "Identity",
    "install",
    "register",
]

log = logging.getLogger("headrace.metadata.access")


def install(
    app: FastAPI, engine: Engine, settings: AccessSettings, audit: AuditTrail | None = None
) -> None:
    """Guard every route of ``app`` (those added later too) and add the admin routes."""
    if not settings.enabled:
        log.warning(
            "HEADRACE_API_AUTH=off: the HTTP API and dashboard answer anyone who can reach "
            "them, writes included; set HEADRACE_API_AUTH=token"
        )
    app.add_middleware(AccessMiddleware, engine=engine, settings=settings, audit=audit)
    app.include_router(router(engine))


def register(ingest: Ingest, service: Service, settings: AccessSettings) -> None:
    """The token commands and query on ``service``; the admin token of ``headrace up``
    recorded at start (before the HTTP API serves)."""
    ingest.on(CreateApiToken, create_token)
    ingest.on(RevokeApiToken, revoke_token)

    @service.answers(ListApiTokens)
    async def answer(query: ListApiTokens) -> Reply:
        assert service.engine is not None
        with Session(service.engine) as session:
            return list_tokens(session, query)

    @service.on_start
    async def start() -> None:
        assert service.engine is not None
        assert service.bus is not None
        ids = bootstrap_admin(service.engine, settings, service.source)
        await OutboxRelay(service.bus, service.engine).publish(ids)
