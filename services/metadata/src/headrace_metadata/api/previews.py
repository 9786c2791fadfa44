"""``GET /api/v1/artifacts/{artifact_id}/preview``: what the dashboard shows of an artifact
(see :mod:`.preview_kinds`). ``artifact_id`` is the ``event_id`` ``GET /api/v1/artifacts``
lists, or the artifact's URI (percent-encoded)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from ..store import ArtifactRow
from .deps import ApiDeps
from .errors import not_found, refusals
from .preview_kinds import Preview, needs_bytes, preview
from .reading import ArtifactStoreError, read_range
from .routes import known_parameters

ArtifactId = Annotated[
    str, Path(description="the event_id GET /api/v1/artifacts lists, or the artifact's URI")
]


def find_artifact(deps: ApiDeps, artifact_id: str) -> ArtifactRow | None:
    with Session(deps.engine) as session:
        where = ArtifactRow.uri if "://" in artifact_id else ArtifactRow.event_id
        return session.exec(
            select(ArtifactRow)
            .where(col(where) == artifact_id)
            .order_by(col(ArtifactRow.id).desc())
            .limit(1)
        ).first()


def preview_of(deps: ApiDeps, row: ArtifactRow) -> Preview:
    wanted = 0 if row.is_dir else needs_bytes(row.schema_title, row.metadata_)
    data: bytes | None = None
    if wanted:
        try:
            data, _ = read_range(row.uri, 0, wanted, deps.s3)
        except ArtifactStoreError:
            data = None  # gone, or in a store this service cannot reach: shown as binary
    return preview(
        uri=row.uri,
        name=row.name,
        schema_title=row.schema_title,
        size=row.size,
        metadata=row.metadata_,
        data=data,
        is_dir=row.is_dir,
    )


def router(deps: ApiDeps) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])

    @api.get(
        "/artifacts/{artifact_id:path}/preview",
        response_model=Preview,
        tags=["artifacts"],
        responses=refusals(e404="no such artifact"),
    )
    async def artifact_preview(artifact_id: ArtifactId) -> Preview:
        """Metrics, a confusion matrix and ROC curve, HTML or Markdown, a table's first
        rows, the first 4 KiB of text, or ``binary``."""
        row = await run_in_threadpool(find_artifact, deps, artifact_id)
        if row is None:
            raise not_found(
                f"no artifact {artifact_id!r} is recorded: pass an event_id from "
                "GET /api/v1/artifacts, or an artifact URI"
            )
        return await run_in_threadpool(preview_of, deps, row)

    return api
