"""Model registry: registered models, versions, aliases, promotion (area ``model``).

A registered model (``model_name`` in a ``namespace``) has versions numbered 1, 2, ... each
pointing at a model artifact (URI and digest). An alias (``production``, ``staging``, any
DNS-label-like name) points at one version; ``models:/NAME@ALIAS`` and ``models:/NAME/3``
resolve to the artifact URI. Each command carries an optional ``request_id`` that the
events answering it repeat, so a caller can tell its answer from others'.
"""

from __future__ import annotations

from pydantic import Field

from .base import Command, Event
from .common import JsonValue

DEFAULT_NAMESPACE = "default"
VERSION_STATES = ("LIVE", "ARCHIVED")


class RegisterModel(Command):
    """Record a new version of a model from an artifact in the store.

    Idempotent: the same ``uri`` and ``digest`` for the same model is the same version.
    """

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
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict, description="custom properties, readable by promotion conditions"
    )
    namespace: str = DEFAULT_NAMESPACE
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    request_id: str = Field(default="", description="repeated by the event that answers")


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
    namespace: str = DEFAULT_NAMESPACE
    step_id: str = ""
    already_registered: bool = Field(
        default=False, description="the same URI and digest was this version already"
    )
    request_id: str = ""


class RegistrationRejected(Event):
    """A ``RegisterModel`` that cannot be recorded, with the reason."""

    AREA = "model"
    NAME = "registration_rejected"

    model_name: str
    uri: str = ""
    reason: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class PromoteModel(Command):
    """Point an alias (e.g. 'production') at a version, if ``require`` holds for it.

    ``require`` is a CEL expression over the version's ``metrics``, ``properties``
    (its metadata), ``labels``, ``tags`` and ``version``: ``metrics.accuracy >= 0.95``.
    """

    AREA = "model"
    NAME = "promote"

    model_name: str
    version: int
    alias: str = "production"
    requested_by: str = ""
    namespace: str = DEFAULT_NAMESPACE
    require: str = Field(default="", description="CEL condition the version must meet")
    request_id: str = ""


class ModelPromoted(Event):
    AREA = "model"
    NAME = "promoted"

    model_name: str
    version: int
    alias: str = "production"
    uri: str = ""
    previous_version: int | None = None
    namespace: str = DEFAULT_NAMESPACE
    digest: str = ""
    revision: int = Field(
        default=0, description="how many times the alias has moved, this move included"
    )
    request_id: str = ""


class PromotionRejected(Event):
    """A refused ``PromoteModel``: the alias is unchanged (``current_version``)."""

    AREA = "model"
    NAME = "promotion_rejected"

    model_name: str
    version: int
    alias: str = "production"
    reason: str
    namespace: str = DEFAULT_NAMESPACE
    current_version: int | None = Field(
        default=None, description="the version the alias still points at, if any"
    )
    request_id: str = ""


class ArchiveModelVersion(Command):
    """Move a version to ARCHIVED (it stays resolvable by number; no alias may point at it)."""

    AREA = "model"
    NAME = "archive"

    model_name: str
    version: int
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class ModelVersionArchived(Event):
    AREA = "model"
    NAME = "version_archived"

    model_name: str
    version: int
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""


class ArchiveRejected(Event):
    AREA = "model"
    NAME = "archive_rejected"

    model_name: str
    version: int
    reason: str
    namespace: str = DEFAULT_NAMESPACE
    request_id: str = ""
