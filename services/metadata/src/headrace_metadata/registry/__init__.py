"""The model registry: registered models, numbered versions, aliases and gated promotion.

:func:`register` adds its parts to the metadata service: what it records from each message
(through :class:`~headrace_metadata.ingest.Ingest`) and the queries it answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from headrace_contracts import (
    ArchiveModelVersion,
    ArtifactWritten,
    GetModel,
    ListModels,
    ListModelVersions,
    MetricReported,
    PromoteModel,
    Query,
    RegisterModel,
    Reply,
    ResolveModel,
)
from headrace_runtime import Service

from ..ingest import Ingest
from .given_up import archive_given_up, promotion_given_up, registration_given_up
from .queries import get_model, list_model_versions, list_models, resolve_model
from .recording import (
    archive_version,
    promote_model,
    record_step_metric,
    register_from_artifact,
    register_model,
)
from .tables import TABLES

__all__ = ["TABLES", "register"]

Q = TypeVar("Q", bound=Query)


def register(ingest: Ingest, service: Service) -> None:
    """Record the registry's messages through ``ingest`` and answer its queries."""
    ingest.on(RegisterModel, register_model)
    ingest.on(PromoteModel, promote_model)
    ingest.on(ArchiveModelVersion, archive_version)
    ingest.gives_up(RegisterModel, registration_given_up)
    ingest.gives_up(PromoteModel, promotion_given_up)
    ingest.gives_up(ArchiveModelVersion, archive_given_up)
    ingest.on(ArtifactWritten, register_from_artifact)
    ingest.on(MetricReported, record_step_metric)
    _answer(service, GetModel, get_model)
    _answer(service, ListModels, list_models)
    _answer(service, ListModelVersions, list_model_versions)
    _answer(service, ResolveModel, resolve_model)


def _answer(service: Service, query: type[Q], fn: Callable[[Session, Q], Reply]) -> None:
    @service.answers(query)
    async def answer(asked: Q) -> Reply:
        assert service.engine is not None
        with Session(service.engine) as session:
            return fn(session, asked)
