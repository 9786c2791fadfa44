"""The registry's answers: models, versions, and ``models:/`` URIs resolved (read-only)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, col, func, select

from headrace_contracts import (
    GetModel,
    ListModels,
    ListModelVersions,
    ModelDetail,
    ModelList,
    ModelVersionList,
    ModelVersionView,
    RegisteredModelView,
    ResolvedModel,
    ResolveModel,
)
from headrace_pipelines.model_refs import ModelRefError, parse_model_uri

from .tables import AliasRow, ModelVersionRow, RegisteredModelRow

__all__ = ["get_model", "list_model_versions", "list_models", "resolve_model"]


def get_model(session: Session, query: GetModel) -> ModelDetail:
    model = _model(session, query.namespace, query.name)
    return ModelDetail(model=None if model is None else _model_views(session, [model])[0])


def list_models(session: Session, query: ListModels) -> ModelList:
    where = [RegisteredModelRow.namespace == query.namespace]
    rows = session.exec(
        select(RegisteredModelRow)
        .where(*where)
        .order_by(col(RegisteredModelRow.name))
        .limit(query.limit)
    ).all()
    total = session.exec(select(func.count()).select_from(RegisteredModelRow).where(*where)).one()
    return ModelList(models=_model_views(session, list(rows)), total=total)


def list_model_versions(session: Session, query: ListModelVersions) -> ModelVersionList:
    model = _model(session, query.namespace, query.name)
    if model is None:
        return ModelVersionList(found=False)
    where = [ModelVersionRow.model_id == model.id]
    if query.state:
        where.append(ModelVersionRow.state == query.state.upper())
    rows = session.exec(
        select(ModelVersionRow)
        .where(*where)
        .order_by(col(ModelVersionRow.version).desc())
        .limit(query.limit)
    ).all()
    total = session.exec(select(func.count()).select_from(ModelVersionRow).where(*where)).one()
    aliases = _aliases_by_version(session, model)
    return ModelVersionList(
        versions=[_version_view(model, row, aliases[row.version]) for row in rows], total=total
    )


def resolve_model(session: Session, query: ResolveModel) -> ResolvedModel:
    try:
        ref = parse_model_uri(query.uri)
    except ModelRefError as exc:
        return ResolvedModel(reason=str(exc))
    model = _model(session, query.namespace, ref.name)
    if model is None:
        return ResolvedModel(
            reason=f"{query.uri}: no model {ref.name!r} is registered in namespace "
            f"{query.namespace!r} (list them with `headrace model list`)"
        )
    number = ref.version
    if ref.alias:
        alias = session.exec(
            select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.alias == ref.alias)
        ).first()
        if alias is None:
            known = _aliases_by_version(session, model)
            names = sorted(a for names in known.values() for a in names)
            return ResolvedModel(
                reason=f"{query.uri}: model {ref.name!r} has no alias {ref.alias!r} (its "
                f"aliases: {', '.join(names) or 'none'}): promote a version with "
                f"`headrace model promote {ref.name} VERSION --alias {ref.alias}`"
            )
        number = alias.version
    row = session.exec(
        select(ModelVersionRow).where(
            ModelVersionRow.model_id == model.id, ModelVersionRow.version == number
        )
    ).first()
    if row is None:
        return ResolvedModel(
            reason=f"{query.uri}: model {ref.name!r} has no version {number} "
            f"(see `headrace model versions {ref.name}`)"
        )
    return ResolvedModel(
        version=_version_view(model, row, _aliases_by_version(session, model)[row.version])
    )


# views -----------------------------------------------------------------------------------


def _model(session: Session, namespace: str, name: str) -> RegisteredModelRow | None:
    return session.exec(
        select(RegisteredModelRow).where(
            RegisteredModelRow.namespace == namespace, RegisteredModelRow.name == name
        )
    ).first()


def _aliases_by_version(session: Session, model: RegisteredModelRow) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for alias in session.exec(
        select(AliasRow).where(AliasRow.model_id == model.id).order_by(col(AliasRow.alias))
    ).all():
        found[alias.version].append(alias.alias)
    return found


def _model_views(session: Session, models: list[RegisteredModelRow]) -> list[RegisteredModelView]:
    ids = [m.id for m in models]
    counts = {
        model_id: (count, latest)
        for model_id, count, latest in session.exec(
            select(
                ModelVersionRow.model_id,
                func.count(),
                func.max(ModelVersionRow.version),
            )
            .where(col(ModelVersionRow.model_id).in_(ids))
            .group_by(col(ModelVersionRow.model_id))
        ).all()
    }
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    for alias in session.exec(
        select(AliasRow).where(col(AliasRow.model_id).in_(ids)).order_by(col(AliasRow.alias))
    ).all():
        aliases[alias.model_id][alias.alias] = alias.version
    views = []
    for model in models:
        assert model.id is not None
        count, latest = counts.get(model.id, (0, 0))
        views.append(
            RegisteredModelView(
                name=model.name,
                namespace=model.namespace,
                latest_version=latest or 0,
                version_count=count,
                aliases=aliases[model.id],
                created_at=_iso(model.created_at),
                updated_at=_iso(model.updated_at),
            )
        )
    return views


def _version_view(
    model: RegisteredModelRow, row: ModelVersionRow, aliases: list[str]
) -> ModelVersionView:
    return ModelVersionView(
        model_name=model.name,
        namespace=model.namespace,
        version=row.version,
        state=row.state,
        uri=row.uri,
        digest=row.digest,
        framework=row.framework,
        run_id=row.run_id,
        step_id=row.step_id,
        metrics=row.metrics,
        labels=row.labels,
        metadata=row.metadata_,
        description=row.description,
        tags=row.tags,
        aliases=aliases,
        created_at=_iso(row.created_at),
        updated_at=_iso(row.updated_at),
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat()
