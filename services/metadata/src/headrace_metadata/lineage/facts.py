"""What lineage knows from one fact, and how a fact merges into the row it names (pure).

Each fact names its row by a natural key and carries what the event said about it. Merging
is insensitive to arrival order wherever the data allows: a state only moves forward (a later
attempt, or a later phase of the same attempt), an empty value never erases a known one, and
properties are merged key by key. A fact about a row that does not exist yet creates it with
what is known so far; the missing event fills in the rest when it comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlmodel import SQLModel

from .tables import (
    LineageArtifact,
    LineageAssociation,
    LineageAttribution,
    LineageContext,
    LineageEvent,
    LineageExecution,
    LineageParentContext,
)

__all__ = [
    "ArtifactFact",
    "AssociationFact",
    "AttributionFact",
    "ContextFact",
    "EventFact",
    "ExecutionFact",
    "Fact",
    "ParentFact",
    "property_kinds",
]

EXECUTION_RANK = {"NEW": 0, "RUNNING": 1, "COMPLETE": 2, "FAILED": 2, "CACHED": 2, "CANCELED": 2}
CONTEXT_RANK = {"": 0, "RUNNING": 1, "SUCCEEDED": 2, "FAILED": 2, "CANCELLED": 2, "REJECTED": 2}


class Fact:
    """A row to create or update, named by ``key()``."""

    TABLE: ClassVar[type[SQLModel]]
    KIND: ClassVar[str] = ""  # the type kind ("artifact", ...) for rows that have a type

    def key(self) -> dict[str, Any]:
        raise NotImplementedError

    def merge(self, row: dict[str, Any] | None) -> dict[str, Any]:
        """The row's column values after this fact (``row`` is None when it does not exist)."""
        return {**(row or {}), **self.key()}

    def typed(self) -> tuple[str, dict[str, Any]] | None:
        """The type name and properties to declare on the type, for rows that have one."""
        return None


def _fill(row: dict[str, Any], **values: Any) -> None:
    """Set each value that is known (not empty, not None)."""
    for name, value in values.items():
        if value not in ("", None):
            row[name] = value


@dataclass(frozen=True)
class ArtifactFact(Fact):
    TABLE = LineageArtifact
    KIND = "artifact"

    uri: str
    type_name: str = ""
    name: str = ""
    digest: str = ""
    size: int | None = None
    is_dir: bool | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def key(self) -> dict[str, Any]:
        return {"uri": self.uri}

    def merge(self, row: dict[str, Any] | None) -> dict[str, Any]:
        out = {"type_name": "system.Artifact", "state": "LIVE", "properties": {}, **(row or {})}
        out.update(self.key())
        _fill(out, type_name=self.type_name, name=self.name, digest=self.digest, size=self.size)
        _fill(out, is_dir=self.is_dir)
        out["properties"] = {**out["properties"], **self.properties}
        return out

    def typed(self) -> tuple[str, dict[str, Any]] | None:
        return (self.type_name, self.properties) if self.type_name else None


@dataclass(frozen=True)
class ExecutionFact(Fact):
    TABLE = LineageExecution
    KIND = "execution"

    run_id: str
    step_id: str
    type_name: str = ""
    name: str = ""
    state: str = ""
    attempt: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def key(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "step_id": self.step_id}

    def merge(self, row: dict[str, Any] | None) -> dict[str, Any]:
        out = {
            "type_name": "system.ContainerExecution",
            "state": "NEW",
            "attempt": 0,
            "properties": {},
            **(row or {}),
        }
        out.update(self.key())
        _fill(out, type_name=self.type_name, name=self.name)
        if self.state:
            attempt = out["attempt"] if self.attempt is None else self.attempt
            mine = (attempt, EXECUTION_RANK[self.state], self.state)
            theirs = (out["attempt"], EXECUTION_RANK[out["state"]], out["state"])
            if row is None or mine >= theirs:
                out["state"], out["attempt"] = self.state, attempt
        out["properties"] = {**out["properties"], **self.properties}
        return out

    def typed(self) -> tuple[str, dict[str, Any]] | None:
        return (self.type_name or "system.ContainerExecution", self.properties)


@dataclass(frozen=True)
class ContextFact(Fact):
    TABLE = LineageContext
    KIND = "context"

    type_name: str
    name: str
    state: str = ""
    properties: dict[str, Any] = field(default_factory=dict)

    def key(self) -> dict[str, Any]:
        return {"type_name": self.type_name, "name": self.name}

    def merge(self, row: dict[str, Any] | None) -> dict[str, Any]:
        out = {"state": "", "properties": {}, **(row or {})}
        out.update(self.key())
        mine = (CONTEXT_RANK[self.state], self.state)
        if mine > (CONTEXT_RANK[out["state"]], out["state"]):
            out["state"] = self.state
        out["properties"] = {**out["properties"], **self.properties}
        return out

    def typed(self) -> tuple[str, dict[str, Any]] | None:
        return (self.type_name, self.properties)


@dataclass(frozen=True)
class EventFact(Fact):
    TABLE = LineageEvent

    run_id: str
    step_id: str
    uri: str
    kind: str  # INPUT or OUTPUT
    port: str
    list_index: int | None = None

    def key(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "step_id": self.step_id,
            "uri": self.uri,
            "kind": self.kind,
            "port": self.port,
        }

    def merge(self, row: dict[str, Any] | None) -> dict[str, Any]:
        out = {"list_index": None, **(row or {}), **self.key()}
        _fill(out, list_index=self.list_index)
        return out


@dataclass(frozen=True)
class AttributionFact(Fact):
    TABLE = LineageAttribution

    context_type: str
    context_name: str
    uri: str

    def key(self) -> dict[str, Any]:
        return {
            "context_type": self.context_type,
            "context_name": self.context_name,
            "uri": self.uri,
        }


@dataclass(frozen=True)
class AssociationFact(Fact):
    TABLE = LineageAssociation

    context_type: str
    context_name: str
    run_id: str
    step_id: str

    def key(self) -> dict[str, Any]:
        return {
            "context_type": self.context_type,
            "context_name": self.context_name,
            "run_id": self.run_id,
            "step_id": self.step_id,
        }


@dataclass(frozen=True)
class ParentFact(Fact):
    TABLE = LineageParentContext

    child_type: str
    child_name: str
    parent_type: str
    parent_name: str

    def key(self) -> dict[str, Any]:
        return {
            "child_type": self.child_type,
            "child_name": self.child_name,
            "parent_type": self.parent_type,
            "parent_name": self.parent_name,
        }


def property_kinds(properties: dict[str, Any]) -> dict[str, str]:
    """ML Metadata's property type of each value: INT, DOUBLE, BOOLEAN, STRING or STRUCT."""
    kinds: dict[str, str] = {}
    for name, value in properties.items():
        if isinstance(value, bool):
            kinds[name] = "BOOLEAN"
        elif isinstance(value, int):
            kinds[name] = "INT"
        elif isinstance(value, float):
            kinds[name] = "DOUBLE"
        elif isinstance(value, str):
            kinds[name] = "STRING"
        elif value is not None:
            kinds[name] = "STRUCT"
    return kinds
