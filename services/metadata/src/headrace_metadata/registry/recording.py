"""Thin handlers of the registry: registration, promotion, archiving, step metrics.

Each runs inside the message's transaction (``ctx.session``) and answers through the outbox
(``ctx.publish``). An alias moves by compare-and-set on its ``revision``: a promotion that
raced another one sees no row updated and is retried (redelivered), so no move is lost, on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from headrace_bus import RetryableError
from headrace_contracts import (
    ArchiveModelVersion,
    ArchiveRejected,
    ArtifactWritten,
    MetricReported,
    ModelPromoted,
    ModelVersionArchived,
    ModelVersionRegistered,
    PromoteModel,
    PromotionRejected,
    RegisterModel,
    RegistrationRejected,
)
from headrace_runtime import HandlerContext

from .decisions import Promote, VersionFacts, decide_promotion, registration_fault
from .decisions import registration_from_artifact as _from_artifact
from .tables import AliasRow, ModelVersionRow, RegisteredModelRow, StepMetricRow, now

__all__ = [
    "MoveRaced",
    "archive_version",
    "promote_model",
    "record_step_metric",
    "register_from_artifact",
    "register_model",
]

log = logging.getLogger("headrace.metadata.registry")


async def register_model(command: RegisterModel, ctx: HandlerContext[RegisterModel]) -> None:
    _register(command, ctx)


async def register_from_artifact(
    event: ArtifactWritten, ctx: HandlerContext[ArtifactWritten]
) -> None:
    """A step's output artifact with ``headrace.register_model`` in its metadata."""
    command = _from_artifact(event)
    if command is not None:
        _register(command, ctx)


def _register(command: RegisterModel, ctx: HandlerContext[Any]) -> None:
    fault = registration_fault(command)
    if fault:
        ctx.publish(
            RegistrationRejected(
                model_name=command.model_name,
                uri=command.uri,
                reason=fault,
                namespace=command.namespace,
                request_id=command.request_id,
            )
        )
        return
    row, existed = _record_version(ctx.session, command)
    ctx.publish(
        ModelVersionRegistered(
            model_name=command.model_name,
            version=row.version,
            uri=row.uri,
            digest=row.digest,
            framework=row.framework,
            run_id=row.run_id,
            step_id=row.step_id,
            metrics=dict(row.metrics),
            namespace=command.namespace,
            already_registered=existed,
            request_id=command.request_id,
        )
    )


async def record_step_metric(event: MetricReported, ctx: HandlerContext[MetricReported]) -> None:
    """Keep a step's metric, and give it to versions that step registered (unless the
    registration named that metric itself)."""
    if not event.run_id or not event.step_id:
        return
    session = ctx.session
    found = session.exec(
        select(StepMetricRow).where(
            StepMetricRow.run_id == event.run_id,
            StepMetricRow.step_id == event.step_id,
            StepMetricRow.name == event.metric,
        )
    ).first()
    if found is None:
        session.add(
            StepMetricRow(
                run_id=event.run_id, step_id=event.step_id, name=event.metric, value=event.value
            )
        )
    else:
        found.value = event.value
        session.add(found)
    versions = session.exec(
        select(ModelVersionRow).where(
            ModelVersionRow.run_id == event.run_id, ModelVersionRow.step_id == event.step_id
        )
    ).all()
    for version in versions:
        if event.metric not in version.metrics:
            version.metrics = {**version.metrics, event.metric: event.value}
            version.updated_at = now()
            session.add(version)


async def promote_model(command: PromoteModel, ctx: HandlerContext[PromoteModel]) -> None:
    """Decide and move; a move that lost a race is decided again on what is there now (a
    few times here, then by redelivery)."""
    for _ in range(_ATTEMPTS):
        try:
            _promote(command, ctx)
            return
        except MoveRaced as raced:
            log.info("%s: %s; deciding again", command.model_name, raced)
            ctx.session.expire_all()
    raise RetryableError(
        f"alias {command.alias!r} of {command.model_name!r} kept moving while this promotion "
        "was decided: deciding again later"
    )


async def archive_version(
    command: ArchiveModelVersion, ctx: HandlerContext[ArchiveModelVersion]
) -> None:
    """Archive a version no alias points at. The version row is updated first, so a
    promotion to it (which updates the same row while it is LIVE) and this archiving
    cannot both succeed."""
    session = ctx.session
    model = _model(session, command.namespace, command.model_name)
    version = None
    if model is not None and model.id is not None:
        version = _version(session, model.id, command.version)
    reason = ""
    if model is None:
        reason = f"no model {command.model_name!r} is registered in namespace {command.namespace!r}"
    elif version is None:
        reason = f"model {command.model_name!r} has no version {command.version}"
    else:
        table = ModelVersionRow.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.id == version.id).values(state="ARCHIVED", updated_at=now())
        )
        pointing = session.exec(
            select(AliasRow.alias).where(
                AliasRow.model_id == model.id, AliasRow.version == command.version
            )
        ).all()
        if pointing:
            reason = (
                f"version {command.version} of {command.model_name!r} is what alias "
                f"{', '.join(sorted(pointing))} points at: promote another version to it first"
            )
            session.connection().execute(
                update(table)
                .where(table.c.id == version.id)
                .values(state=version.state, updated_at=version.updated_at)
            )
        session.expire(version)
    if reason:
        ctx.publish(
            ArchiveRejected(
                model_name=command.model_name,
                version=command.version,
                reason=reason,
                namespace=command.namespace,
                request_id=command.request_id,
            )
        )
        return
    ctx.publish(
        ModelVersionArchived(
            model_name=command.model_name,
            version=command.version,
            namespace=command.namespace,
            request_id=command.request_id,
        )
    )


_ATTEMPTS = 5


class MoveRaced(Exception):
    """The alias or the version changed between reading and writing."""


def _promote(command: PromoteModel, ctx: HandlerContext[PromoteModel]) -> None:
    session = ctx.session
    model = _model(session, command.namespace, command.model_name)
    version = alias = None
    known: list[int] = []
    if model is not None:
        assert model.id is not None
        version = _version(session, model.id, command.version)
        alias = _alias(session, model.id, command.alias)
        if version is None:
            known = list(
                session.exec(
                    select(ModelVersionRow.version).where(ModelVersionRow.model_id == model.id)
                ).all()
            )
    decision = decide_promotion(
        model=command.model_name,
        namespace=command.namespace,
        alias=command.alias,
        version=command.version,
        require=command.require,
        found_model=model is not None,
        facts=_facts(version) if version is not None else None,
        known_versions=known,
        current=alias.version if alias is not None else None,
    )
    if not isinstance(decision, Promote):
        ctx.publish(
            PromotionRejected(
                model_name=command.model_name,
                version=command.version,
                alias=command.alias,
                reason=decision.reason,
                namespace=command.namespace,
                current_version=alias.version if alias is not None else None,
                request_id=command.request_id,
            )
        )
        return
    assert model is not None
    assert model.id is not None
    assert version is not None
    _hold_live(session, version)
    revision = _move_alias(session, model.id, command.alias, alias, decision.version)
    ctx.publish(
        ModelPromoted(
            model_name=command.model_name,
            version=decision.version,
            alias=command.alias,
            uri=version.uri,
            digest=version.digest,
            previous_version=decision.previous,
            revision=revision,
            namespace=command.namespace,
            request_id=command.request_id,
        )
    )


# rows ------------------------------------------------------------------------------------


def _model(session: Session, namespace: str, name: str) -> RegisteredModelRow | None:
    return session.exec(
        select(RegisteredModelRow).where(
            RegisteredModelRow.namespace == namespace, RegisteredModelRow.name == name
        )
    ).first()


def _version(session: Session, model_id: int, number: int) -> ModelVersionRow | None:
    return session.exec(
        select(ModelVersionRow).where(
            ModelVersionRow.model_id == model_id, ModelVersionRow.version == number
        )
    ).first()


def _alias(session: Session, model_id: int, alias: str) -> AliasRow | None:
    return session.exec(
        select(AliasRow).where(AliasRow.model_id == model_id, AliasRow.alias == alias)
    ).first()


def _facts(row: ModelVersionRow) -> VersionFacts:
    return VersionFacts(
        version=row.version,
        state=row.state,
        metrics=row.metrics,
        properties=row.metadata_,
        labels=row.labels,
        tags=row.tags,
        framework=row.framework,
    )


def _record_version(session: Session, command: RegisterModel) -> tuple[ModelVersionRow, bool]:
    """The version for this artifact, made if new; ``(row, already_registered)``.

    Two registrations racing for the same number collide on the unique (model, version)
    key at flush; the loser is redelivered and then finds its artifact or the next number.
    """
    model = _model(session, command.namespace, command.model_name)
    if model is None:
        model = RegisteredModelRow(namespace=command.namespace, name=command.model_name)
        session.add(model)
        session.flush()
    assert model.id is not None
    same = session.exec(
        select(ModelVersionRow).where(
            ModelVersionRow.model_id == model.id,
            ModelVersionRow.digest == command.digest,
            ModelVersionRow.uri == command.uri,
        )
    ).first()
    if same is not None:
        return same, True
    last = session.exec(
        select(ModelVersionRow.version)
        .where(ModelVersionRow.model_id == model.id)
        .order_by(col(ModelVersionRow.version).desc())
        .limit(1)
    ).first()
    metrics: dict[str, float] = {}
    if command.run_id and command.step_id:
        reported = session.exec(
            select(StepMetricRow).where(
                StepMetricRow.run_id == command.run_id, StepMetricRow.step_id == command.step_id
            )
        ).all()
        metrics = {m.name: m.value for m in reported}
    row = ModelVersionRow(
        model_id=model.id,
        version=(last or 0) + 1,
        uri=command.uri,
        digest=command.digest,
        framework=command.framework,
        run_id=command.run_id,
        step_id=command.step_id,
        metrics={**metrics, **command.metrics},
        labels=dict(command.labels),
        metadata_=dict(command.metadata),
        description=command.description,
        tags=list(command.tags),
    )
    session.add(row)
    model.updated_at = now()
    session.add(model)
    session.flush()
    return row, False


def _move_alias(
    session: Session, model_id: int, alias: str, seen: AliasRow | None, version: int
) -> int:
    """Point ``alias`` at ``version``; its new revision."""
    if seen is None:
        session.add(AliasRow(model_id=model_id, alias=alias, version=version))
        session.flush()  # a concurrent first promotion of this alias fails here, and retries
        return 1
    table = AliasRow.__table__  # type: ignore[attr-defined]
    revision = seen.revision + 1
    moved = session.connection().execute(
        update(table)
        .where(table.c.id == seen.id, table.c.revision == seen.revision)
        .values(version=version, revision=revision, updated_at=now())
    )
    if moved.rowcount != 1:
        raise MoveRaced(f"alias {alias!r} moved while this promotion was decided")
    session.expire(seen)
    return revision


def _hold_live(session: Session, version: ModelVersionRow) -> None:
    """Touch the version row while it is LIVE (locking it until commit), or :class:`MoveRaced`."""
    table = ModelVersionRow.__table__  # type: ignore[attr-defined]
    touched = session.connection().execute(
        update(table)
        .where(table.c.id == version.id, table.c.state == "LIVE")
        .values(updated_at=now())
    )
    if touched.rowcount != 1:
        raise MoveRaced(f"version {version.version} was archived while this promotion was decided")
    session.expire(version)
