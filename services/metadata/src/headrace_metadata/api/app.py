"""The FastAPI application of the metadata service's HTTP API."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from .. import dashboard
from . import errors
from .routes import router

PREFIX = "/api/v1"


def create_app(engine: Engine, *, version: str = "0.1.0") -> FastAPI:
    """The API over ``engine`` (the metadata service's database): runs, artifacts, lineage
    and models, its OpenAPI document at ``/api/v1/openapi.json`` and docs at ``/api/v1/docs``;
    the web dashboard at ``/``."""
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
    dashboard.install(app)  # last: its fallback answers paths no route above takes
    return app
