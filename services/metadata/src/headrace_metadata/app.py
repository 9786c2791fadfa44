"""Bootstrap of the metadata service: lineage records and (later) the model registry."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SpanExporter
from sqlmodel import Session

from headrace_contracts import ArtifactList, ArtifactWritten, ListArtifacts
from headrace_runtime import Service, Settings, run_service

from . import registry, runs
from .handlers import list_artifacts, record_artifact
from .ingest import Ingest
from .store import TABLES

NAME = "metadata"


def build(settings: Settings, *, span_exporter: SpanExporter | None = None) -> Service:
    service = Service(NAME, settings, tables=TABLES, span_exporter=span_exporter)
    ingest = Ingest()
    ingest.on(ArtifactWritten, record_artifact)
    registry.register(ingest, service)
    runs.register(ingest, service)
    ingest.register(service)

    @service.answers(ListArtifacts)
    async def answer_list(query: ListArtifacts) -> ArtifactList:
        assert service.engine is not None
        with Session(service.engine) as session:
            return list_artifacts(session, query)

    return service


def main() -> None:
    run_service(build)
