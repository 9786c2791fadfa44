"""Thin handlers: message in, rows and replies out."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from headrace_contracts import (
    ArtifactList,
    ArtifactRecord,
    ArtifactRef,
    ArtifactWritten,
    ListArtifacts,
)
from headrace_runtime import HandlerContext

from .store import ArtifactRow


async def record_artifact(event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]) -> None:
    a = event.artifact
    ctx.session.add(
        ArtifactRow(
            event_id=ctx.event_id,
            uri=a.uri,
            name=a.name,
            schema_title=a.schema_title,
            digest=a.digest,
            size=a.size,
            is_dir=a.is_dir,
            run_id=event.run_id,
            step_id=event.step_id,
            output_name=event.output_name,
            producer=event.producer,
            metadata_=dict(a.metadata),
        )
    )


def list_artifacts(session: Session, query: ListArtifacts) -> ArtifactList:
    where = [] if not query.run_id else [col(ArtifactRow.run_id) == query.run_id]
    rows = session.exec(
        select(ArtifactRow).where(*where).order_by(col(ArtifactRow.id).desc()).limit(query.limit)
    ).all()
    total = session.exec(select(func.count()).select_from(ArtifactRow).where(*where)).one()
    return ArtifactList(
        total=total,
        artifacts=[
            ArtifactRecord(
                artifact=ArtifactRef(
                    uri=r.uri,
                    name=r.name,
                    schema_title=r.schema_title,
                    digest=r.digest,
                    size=r.size,
                    is_dir=r.is_dir,
                    metadata=r.metadata_,
                ),
                run_id=r.run_id,
                step_id=r.step_id,
                output_name=r.output_name,
                event_id=r.event_id,
            )
            for r in rows
        ],
    )
