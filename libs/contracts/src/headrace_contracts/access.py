"""Access tokens of the HTTP API and dashboard (area ``access``).

A token is a random secret that only its creator ever sees: the caller (``headrace token
create``) makes the secret, sends only its SHA-256 (:func:`token_digest`) in
:class:`CreateApiToken`, and prints the secret once. The metadata service keeps the digest,
never the secret, and the API compares the digest of what a caller presents. A token has a
role: ``viewer`` reads, ``editor`` also writes (submit, cancel, promote), ``admin`` also
manages tokens and reads the audit trail.

Each command carries a ``request_id`` that the event answering it repeats.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pydantic import Field

from .base import Command, Event, Query, Reply
from .common import Value

ROLES = ("viewer", "editor", "admin")
"""The roles, each allowed what the ones before it are."""

TOKEN_PREFIX = "hrt_"


def new_token_secret() -> str:
    """A fresh secret: ``hrt_`` and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    """The hex SHA-256 of ``secret``: what is sent and stored instead of it."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenView(Value):
    """A token as listed: never its secret or digest."""

    id: str
    name: str
    role: str
    description: str = ""
    created_at: str = ""
    created_by: str = ""
    expires_at: str = Field(default="", description="ISO 8601; empty: never")
    revoked_at: str = Field(default="", description="ISO 8601; empty: in force")


class CreateApiToken(Command):
    """Record a token whose secret hashes to ``secret_sha256``. ``name`` is unique among
    the tokens in force (a revoked token's name may be used again)."""

    AREA = "access"
    NAME = "create_token"

    name: str
    role: str = Field(description="viewer, editor or admin")
    secret_sha256: str = Field(description="hex SHA-256 of the secret, see token_digest()")
    description: str = ""
    expires_at: datetime | None = Field(default=None, description="None: never expires")
    requested_by: str = Field(default="", description="who asked, for the audit trail")
    request_id: str = ""


class ApiTokenCreated(Event):
    AREA = "access"
    NAME = "token_created"

    token: ApiTokenView
    request_id: str = ""


class RevokeApiToken(Command):
    """Revoke the token in force named ``token``, or with id ``token``."""

    AREA = "access"
    NAME = "revoke_token"

    token: str = Field(description="the token's name or id")
    requested_by: str = ""
    request_id: str = ""


class ApiTokenRevoked(Event):
    AREA = "access"
    NAME = "token_revoked"

    token: ApiTokenView
    request_id: str = ""


class ApiTokenRejected(Event):
    """A ``CreateApiToken`` or ``RevokeApiToken`` that was refused, with the reason."""

    AREA = "access"
    NAME = "token_rejected"

    token: str = Field(description="the name (or id) the command gave")
    reason: str
    request_id: str = ""


class ApiTokenList(Reply):
    tokens: list[ApiTokenView] = Field(default_factory=list, description="newest first")


class ListApiTokens(Query):
    """The tokens in force (and, with ``include_revoked``, the revoked ones)."""

    AREA = "access"
    NAME = "list_tokens"
    REPLY = ApiTokenList

    include_revoked: bool = False
