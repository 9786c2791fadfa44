"""The metadata service's HTTP JSON API (``/api/v1``): the same queries the service answers
on the bus, served by FastAPI on uvicorn inside the service process (see
``docs/http-api.md``).

:func:`register` starts it with the service (its URL goes in the service's ``Pong`` as
``endpoints["http"]``) and stops it with the service.
"""

from __future__ import annotations

import logging

from headrace_runtime import Service

from .access import AccessSettings, AuditTrail
from .app import PREFIX, create_app
from .deps import ApiDeps
from .live import LiveHub
from .server import HttpServer
from .settings import HttpSettings

__all__ = [
    "AccessSettings",
    "ApiDeps",
    "HttpServer",
    "HttpSettings",
    "LiveHub",
    "create_app",
    "register",
]

log = logging.getLogger("headrace.metadata.api")


def register(
    service: Service, settings: HttpSettings, access_settings: AccessSettings | None = None
) -> None:
    """Serve the API while ``service`` runs, where ``settings`` say (unless disabled), to
    whom ``access_settings`` (default: from ``HEADRACE_API_*``) allow."""
    if not settings.enabled:
        return
    server: HttpServer | None = None
    live: LiveHub | None = None

    @service.on_start
    async def start() -> None:
        nonlocal server, live
        assert service.engine is not None
        assert service.bus is not None
        audit = AuditTrail(service.engine, service.bus, service.source)
        live = LiveHub()
        await live.start(service.bus.connection, service.bus.catalogue)
        deps = ApiDeps(
            service.engine,
            bus=service.bus,
            live=live,
            s3=service.settings.s3_options(),
            answer_timeout=settings.answer_timeout,
        )
        app = create_app(
            service.engine,
            version=service.version,
            deps=deps,
            access_settings=access_settings,
            audit=audit,
        )
        server = HttpServer(app, settings)
        url = await server.start()
        service.endpoints["http"] = url + PREFIX
        log.info("%s: HTTP API at %s%s", service.instance, url, PREFIX)

    @service.on_stop
    async def stop() -> None:
        if live is not None:
            await live.stop()  # ends the event streams, so the server can stop
        if server is not None:
            await server.stop()
        service.endpoints.pop("http", None)
