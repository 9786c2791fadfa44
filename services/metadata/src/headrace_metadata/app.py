"""Bootstrap of the metadata service: artifacts, the lineage store, the run read model, the
model registry and the InferenceService read model, all kept from bus events (see
`ingest.py`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from opentelemetry.sdk.trace.export import SpanExporter
from sqlmodel import Session

from headrace_contracts import ArtifactList, ArtifactWritten, ListArtifacts
from headrace_runtime import (
    Service,
    Settings,
    SettingsError,
    load_settings,
    run_service,
    settings_from_environment,
)

from . import api, lineage, registry, retention, run_metrics, runs, serving
from .handlers import list_artifacts, record_artifact
from .ingest import Ingest
from .store import TABLES

NAME = "metadata"


def build(
    settings: Settings,
    *,
    span_exporter: SpanExporter | None = None,
    http: api.HttpSettings | None = None,
    access: api.AccessSettings | None = None,
) -> Service:
    """The metadata service; ``http`` (default: from ``HEADRACE_METADATA_HTTP_*``) places
    its HTTP API, ``access`` (default: from ``HEADRACE_API_*``) says who may use it."""
    access = access or settings_from_environment(api.AccessSettings)
    service = Service(
        NAME,
        settings,
        tables=[*TABLES, *retention.TABLES, *api.access.TABLES],
        span_exporter=span_exporter,
    )
    ingest = Ingest()
    ingest.on(ArtifactWritten, record_artifact)
    registry.register(ingest, service)
    runs.register(ingest, service)
    lineage.register(ingest, service)
    serving.register(ingest)
    run_metrics.register(ingest, service)
    retention.register(service)
    api.access.register(ingest, service, access)
    ingest.register(service)
    api.register(service, http or api.HttpSettings(), access)

    @service.answers(ListArtifacts)
    async def answer_list(query: ListArtifacts) -> ArtifactList:
        assert service.engine is not None
        with Session(service.engine) as session:
            return list_artifacts(session, query)

    return service


def main(argv: Sequence[str] | None = None) -> None:
    """``headrace-metadata``: serve; with ``--rebuild``, refill lineage from the stream, exit."""
    parser = argparse.ArgumentParser(prog="headrace-metadata")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="drop the lineage tables, replay the whole event stream into them, and exit "
        "(stop the running metadata service first)",
    )
    if not parser.parse_args(argv).rebuild:
        run_service(build)
        return
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"headrace-metadata: {exc}")
    logging.basicConfig(level=settings.log_level.upper())
    try:
        count = asyncio.run(lineage.rebuild(settings))
    except lineage.ReplayError as exc:
        sys.exit(f"headrace-metadata: cannot rebuild lineage: {exc}")
    print(f"lineage rebuilt from {count} messages")
