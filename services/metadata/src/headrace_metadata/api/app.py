"""The FastAPI application of the metadata service's HTTP API."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from .. import dashboard
from . import (
    access,
    actions,
    errors,
    events,
    job_logs,
    logs,
    previews,
    promote,
    proxies,
    run_graph,
)
from .deps import ApiDeps
from .routes import router

PREFIX = "/api/v1"


def create_app(
    engine: Engine,
    *,
    version: str = "0.1.0",
    deps: ApiDeps | None = None,
    access_settings: access.AccessSettings | None = None,
    audit: access.AuditTrail | None = None,
) -> FastAPI:
    """The API over ``engine`` (the metadata service's database): runs, artifacts, lineage
    and models, its OpenAPI document at ``/api/v1/openapi.json`` and docs at ``/api/v1/docs``;
    the web dashboard at ``/``.

    ``deps`` (the service's bus and live events) serve the dashboard's routes: live events,
    run actions, logs, previews, promotion and the tuner and trainer proxies; without them
    those routes answer 503. ``access_settings`` (default: from ``HEADRACE_API_*``) say who
    may use it; ``audit`` records its writes on the bus (see ``access``)."""
    deps = deps or ApiDeps(engine)
    app = FastAPI(
        title="Headrace metadata API",
        description="Queries over the runs, artifacts, lineage and model registry the "
        "metadata service keeps from the platform's events, live events, and the dashboard's "
        "actions (submit, cancel and rerun runs, promote models).",
        version=version,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    errors.install(app)
    app.include_router(router(engine))
    app.include_router(events.router(deps))
    app.include_router(actions.router(deps))
    app.include_router(promote.router(deps))
    app.include_router(proxies.router(deps))
    app.include_router(logs.router(deps))
    app.include_router(job_logs.router(deps))
    app.include_router(previews.router(deps))
    app.include_router(run_graph.router(deps))
    access.install(app, engine, access_settings or access.AccessSettings(), audit)
    dashboard.install(app)  # last: its fallback answers paths no route above takes
    return app
