"""Per-step Python environments the trainer builds for ``packages_to_install`` (area
``environment``): asked over request/reply by ``headrace env list|prune``, never stored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .base import Query, Reply


class EnvironmentView(BaseModel):
    """One cached step environment, as ``headrace env list`` shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    digest: str
    packages: list[str] = Field(default_factory=list)
    index_urls: list[str] = Field(default_factory=list)
    find_links: list[str] = Field(default_factory=list)
    python: str = ""
    size_bytes: int = 0
    build_seconds: float = Field(default=0.0, description="how long uv took to build it")
    created_at: str = Field(default="", description="ISO 8601, UTC")
    last_used_at: str = Field(default="", description="ISO 8601, UTC")
    in_use: bool = Field(default=False, description="a running step uses it now")
    path: str = ""


class EnvironmentList(Reply):
    environments: list[EnvironmentView] = Field(default_factory=list)


class ListEnvironments(Query):
    """The step environments cached in the platform's home, oldest first."""

    AREA = "environment"
    NAME = "list"
    REPLY = EnvironmentList


class EnvironmentsPruned(Reply):
    removed: list[EnvironmentView] = Field(default_factory=list)
    in_use: list[str] = Field(
        default_factory=list, description="digests kept because a running step uses them"
    )
    unknown: list[str] = Field(default_factory=list, description="digests asked for, not found")


class PruneEnvironments(Query):
    """Remove cached step environments no running step uses: all of them, those named by
    ``digests`` (a unique prefix is enough), or those unused for ``older_than_seconds``."""

    AREA = "environment"
    NAME = "prune"
    REPLY = EnvironmentsPruned

    digests: list[str] = Field(default_factory=list)
    older_than_seconds: float = Field(default=0.0, ge=0)
