"""What the metadata service answers about registered models (area ``model``):
request/reply, never stored."""

from __future__ import annotations

from pydantic import Field

from .base import Query, Reply
from .common import JsonValue, Value
from .registry import DEFAULT_NAMESPACE


class ModelVersionView(Value):
    model_name: str
    namespace: str = DEFAULT_NAMESPACE
    version: int
    state: str = Field(default="LIVE", description="LIVE or ARCHIVED")
    uri: str
    digest: str = ""
    framework: str = ""
    run_id: str = ""
    step_id: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="aliases pointing here")
    created_at: str = ""
    updated_at: str = ""


class RegisteredModelView(Value):
    name: str
    namespace: str = DEFAULT_NAMESPACE
    latest_version: int = 0
    version_count: int = 0
    aliases: dict[str, int] = Field(default_factory=dict, description="alias -> version")
    created_at: str = ""
    updated_at: str = ""


class ModelDetail(Reply):
    model: RegisteredModelView | None = Field(default=None, description="None when unknown")


class GetModel(Query):
    """One registered model with its aliases."""

    AREA = "model"
    NAME = "get"
    REPLY = ModelDetail

    name: str
    namespace: str = DEFAULT_NAMESPACE


class ModelList(Reply):
    models: list[RegisteredModelView] = Field(default_factory=list)
    total: int = 0


class ListModels(Query):
    """Registered models of a namespace, by name."""

    AREA = "model"
    NAME = "list"
    REPLY = ModelList

    namespace: str = DEFAULT_NAMESPACE
    limit: int = Field(default=100, ge=1, le=10_000)


class ModelVersionList(Reply):
    versions: list[ModelVersionView] = Field(default_factory=list)
    total: int = 0
    found: bool = Field(default=True, description="False when no such model is registered")


class ListModelVersions(Query):
    """A model's versions, newest first; ``state`` filters LIVE or ARCHIVED."""

    AREA = "model"
    NAME = "versions"
    REPLY = ModelVersionList

    name: str
    namespace: str = DEFAULT_NAMESPACE
    state: str = ""
    limit: int = Field(default=100, ge=1, le=10_000)


class ResolvedModel(Reply):
    version: ModelVersionView | None = Field(default=None, description="None when unresolved")
    reason: str = Field(default="", description="why it did not resolve")


class ResolveModel(Query):
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` to the version and its artifact."""

    AREA = "model"
    NAME = "resolve"
    REPLY = ResolvedModel

    uri: str
    namespace: str = DEFAULT_NAMESPACE
