"""The lineage tables as plain, comparable data: rows without their ids, sorted."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from .tables import LINEAGE_TABLES

__all__ = ["dump"]


def dump(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every lineage row by table name, ``id`` left out, in a stable order."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in LINEAGE_TABLES:
        rows = [r.model_dump(exclude={"id"}) for r in session.exec(select(table)).all()]
        rows.sort(key=lambda row: json.dumps(row, sort_keys=True, default=str))
        found[str(table.__tablename__)] = rows
    return found
