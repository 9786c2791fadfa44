"""``InferenceServiceUpdated`` folded into the read model: the view of the highest generation
(then the latest ``updated_at``) wins, so a redelivered or late event changes nothing; a
deleted service stays as a tombstone (state ``Deleted``) that lists and gets leave out."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from headrace_contracts import InferenceServiceUpdated, InferenceServiceView
from headrace_runtime import HandlerContext

from .tables import InferenceServiceRow

__all__ = ["get_inference_service", "list_inference_services", "record_inference_service"]


async def record_inference_service(
    event: InferenceServiceUpdated, ctx: HandlerContext[Any]
) -> None:
    view = event.service
    session = ctx.session
    row = session.exec(
        select(InferenceServiceRow).where(
            InferenceServiceRow.namespace == view.namespace, InferenceServiceRow.name == view.name
        )
    ).first()
    if row is None:
        row = InferenceServiceRow(namespace=view.namespace, name=view.name)
    elif (row.generation, row.updated_at) >= (view.generation, view.updated_at):
        return
    row.state, row.generation, row.updated_at = view.state, view.generation, view.updated_at
    row.view = view.model_dump(mode="json")
    session.add(row)


def list_inference_services(session: Session, namespace: str) -> list[InferenceServiceView]:
    """The live services of ``namespace`` ("" for all), by namespace and name."""
    where = [InferenceServiceRow.state != "Deleted"]
    if namespace:
        where.append(InferenceServiceRow.namespace == namespace)
    rows = session.exec(
        select(InferenceServiceRow)
        .where(*where)
        .order_by(col(InferenceServiceRow.namespace), col(InferenceServiceRow.name))
    ).all()
    return [InferenceServiceView.model_validate(row.view) for row in rows]


def get_inference_service(
    session: Session, name: str, namespace: str
) -> InferenceServiceView | None:
    row = session.exec(
        select(InferenceServiceRow).where(
            InferenceServiceRow.namespace == namespace, InferenceServiceRow.name == name
        )
    ).first()
    if row is None or row.state == "Deleted":
        return None
    return InferenceServiceView.model_validate(row.view)
