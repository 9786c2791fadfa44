"""Model registry: registered models, versions, aliases, promotion (area ``model``)."""

from __future__ import annotations

from pydantic import Field

from .base import Command, Event
from .common import JsonValue


class RegisterModel(Command):
    """Record a new version of a model from an artifact in the store."""

    AREA = "model"
    NAME = "register"

    model_name: str
    uri: str
    digest: str = ""
    framework: str = Field(default="", description="sklearn, pytorch, onnx, ...")
    run_id: str = ""
    step_id: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


class ModelVersionRegistered(Event):
    AREA = "model"
    NAME = "version_registered"

    model_name: str
    version: int
    uri: str
    digest: str = ""
    framework: str = ""
    run_id: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)


class PromoteModel(Command):
    """Point an alias (e.g. 'production') at a version."""

    AREA = "model"
    NAME = "promote"

    model_name: str
    version: int
    alias: str = "production"
    requested_by: str = ""


class ModelPromoted(Event):
    AREA = "model"
    NAME = "promoted"

    model_name: str
    version: int
    alias: str = "production"
    uri: str = ""
    previous_version: int | None = None


class PromotionRejected(Event):
    AREA = "model"
    NAME = "promotion_rejected"

    model_name: str
    version: int
    alias: str = "production"
    reason: str
