"""The FastAPI application of the metadata service's HTTP API."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from . import access, errors
from .routes import router

PREFIX = "/api/v1"


def create_app(
    engine: Engine,
    *,
    version: str = "0.1.0",
    access_settings: access.AccessSettings | None = None,
    audit: access.AuditTrail | None = None,
) -> FastAPI:
    """The API over ``engine`` (the metadata service's database): runs, artifacts, lineage
    and models, its OpenAPI document at ``/api/v1/openapi.json`` and docs at ``/api/v1/docs``.
    ``access_settings`` (default: from ``HEADRACE_API_*``) say who may use it; ``audit``
    records its writes on the bus (see ``access``)."""
    app = FastAPI(
        title="Headrace metadata API",
        description="Read-only queries over the runs, artifacts, lineage and model registry "
        "the metadata service keeps from the platform's events.",
        version=version,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    errors.install(app)
    app.include_router(router(engine))
    access.install(app, engine, access_settings or access.AccessSettings(), audit)
    return app
