"""Serving the dashboard's built assets from the metadata service's HTTP server.

``/assets/...`` are the bundles Vite names by content hash (cached for a year); every other
path outside the API answers ``index.html`` (never cached), whose script routes on the
client. Paths under ``/api/`` (and the service's own ``/login``, ``/logout``, ``/metrics``)
never fall back to the page: an unknown API path stays a JSON 404.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

log = logging.getLogger("headrace.metadata.dashboard")

STATIC = Path(__file__).parent / "static"
NOT_PAGES = ("api/", "login", "logout", "metrics")
NOT_BUILT = (
    "<!doctype html><title>Headrace</title><p>The dashboard's assets are not in this "
    "installation ({where}): build them with <code>make ui</code> (needs Node.js and npm), "
    "or install a released headrace-metadata package, which carries them. The HTTP API is "
    'at <a href="/api/v1/docs">/api/v1/docs</a>.</p>'
)


class _HashedAssets(StaticFiles):
    """Vite's bundles: content-hashed names, so a year's caching is safe."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def install(app: FastAPI, static: Path = STATIC) -> None:
    """Serve the dashboard in ``static`` at ``/``. Call it after every other route is added:
    its fallback answers any GET path outside the API that the routes before it did not take."""
    index = static / "index.html"
    built = index.is_file()
    if not built:
        log.warning("the dashboard is not built (%s missing): `make ui` builds it", index)
    assets = static / "assets"
    if assets.is_dir():
        app.mount("/assets", _HashedAssets(directory=assets), name="dashboard-assets")

    async def page(request: Request) -> Response:
        if not built:
            return HTMLResponse(NOT_BUILT.format(where=static), status_code=503)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.routes.append(_PageRoute("/{path:path}", page, methods=["GET", "HEAD"]))


class _PageRoute(Route):
    """Any GET path outside the API and the service's own routes: the API's paths never
    match, so an unknown one stays a JSON 404 and a GET of a POST route a 405."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = str(scope.get("path", "")).lstrip("/")
        if path == "api" or path.startswith(NOT_PAGES):
            return Match.NONE, {}
        return super().matches(scope)
