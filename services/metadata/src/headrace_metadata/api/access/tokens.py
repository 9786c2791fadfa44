"""Tokens in the database: create, revoke, list, and whether a presented one holds. No
I/O but the session given."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from headrace_contracts import ApiTokenList, ApiTokenView, CreateApiToken, ListApiTokens
from headrace_contracts.access import ROLES

from .tables import ApiTokenRow, aware

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
DIGEST = re.compile(r"^[0-9a-f]{64}$")
HOW_TO_CREATE = "create one with `headrace token create NAME --role viewer|editor|admin`"


class TokenRefused(Exception):
    """A token command that cannot be carried out; the message says why and what to do."""


def new_token_id() -> str:
    return secrets.token_hex(6)


def _iso(moment: datetime | None) -> str:
    return aware(moment).isoformat() if moment is not None else ""


def view(row: ApiTokenRow) -> ApiTokenView:
    return ApiTokenView(
        id=row.id,
        name=row.name,
        role=row.role,
        description=row.description,
        created_at=_iso(row.created_at),
        created_by=row.created_by,
        expires_at=_iso(row.expires_at),
        revoked_at=_iso(row.revoked_at),
    )


def expired(row: ApiTokenRow, at: datetime) -> bool:
    return row.expires_at is not None and aware(row.expires_at) <= at


def why_not_valid(row: ApiTokenRow | None, at: datetime) -> str:
    """Why the token ``row`` (the one whose digest was presented) cannot be used at
    ``at``; ``""`` when it can."""
    if row is None:
        return f"the token presented is not known (mistyped, or never created): {HOW_TO_CREATE}"
    if row.revoked_at is not None:
        return (
            f"token {row.name!r} ({row.id}) was revoked at {_iso(row.revoked_at)}: {HOW_TO_CREATE}"
        )
    if expired(row, at):
        return f"token {row.name!r} ({row.id}) expired at {_iso(row.expires_at)}: {HOW_TO_CREATE}"
    return ""


def by_digest(session: Session, digest: str) -> ApiTokenRow | None:
    return session.exec(select(ApiTokenRow).where(ApiTokenRow.secret_sha256 == digest)).first()


def _in_force_named(session: Session, name: str, at: datetime) -> ApiTokenRow | None:
    rows = session.exec(
        select(ApiTokenRow).where(ApiTokenRow.name == name, col(ApiTokenRow.revoked_at).is_(None))
    ).all()
    return next((r for r in rows if not expired(r, at)), None)


def create(session: Session, command: CreateApiToken, at: datetime) -> tuple[ApiTokenRow, bool]:
    """The token ``command`` asks for, added to ``session``; with ``True`` when it already
    existed (the same secret, name and role: a command sent again). :class:`TokenRefused`
    when it cannot be."""
    if not NAME.match(command.name):
        raise TokenRefused(
            f"token name {command.name!r} is not valid: use 1 to 128 letters, digits, '.', "
            "'_', '@' or '-', starting with a letter or digit"
        )
    if command.role not in ROLES:
        raise TokenRefused(
            f"role {command.role!r} of token {command.name!r} is not known: use one of "
            f"{', '.join(ROLES)}"
        )
    if not DIGEST.match(command.secret_sha256):
        raise TokenRefused(
            f"token {command.name!r}: secret_sha256 must be the 64 lower-case hex digits of "
            "the secret's SHA-256 (headrace_contracts.access.token_digest)"
        )
    if command.expires_at is not None and aware(command.expires_at) <= at:
        raise TokenRefused(
            f"token {command.name!r} would expire at {aware(command.expires_at).isoformat()}, "
            "which has passed: give a later expiry"
        )
    same = by_digest(session, command.secret_sha256)
    if same is not None:
        if same.name == command.name and same.role == command.role and not same.revoked_at:
            return same, True
        raise TokenRefused(
            f"token {command.name!r}: this secret already belongs to token {same.name!r}; "
            "make a new secret"
        )
    holder = _in_force_named(session, command.name, at)
    if holder is not None:
        raise TokenRefused(
            f"a token named {command.name!r} is already in force ({holder.id}, role "
            f"{holder.role}): revoke it first (`headrace token revoke {command.name}`) or "
            "choose another name"
        )
    row = ApiTokenRow(
        id=new_token_id(),
        name=command.name,
        role=command.role,
        secret_sha256=command.secret_sha256,
        description=command.description,
        created_by=command.requested_by,
        created_at=at,
        expires_at=aware(command.expires_at) if command.expires_at is not None else None,
    )
    session.add(row)
    return row, False


def revoke(session: Session, ref: str, at: datetime) -> ApiTokenRow:
    """Revoke the token in force with id ``ref``, else named ``ref``; :class:`TokenRefused`
    when there is none."""
    row = session.get(ApiTokenRow, ref)
    if row is None or row.revoked_at is not None:
        row = (
            _in_force_named(session, ref, at)
            or session.exec(
                select(ApiTokenRow).where(
                    ApiTokenRow.name == ref, col(ApiTokenRow.revoked_at).is_(None)
                )
            ).first()
        )
    if row is None:
        raise TokenRefused(
            f"no token in force is named {ref!r} or has that id: list them with "
            "`headrace token list`"
        )
    row.revoked_at = at
    session.add(row)
    return row


def list_tokens(session: Session, query: ListApiTokens) -> ApiTokenList:
    statement = select(ApiTokenRow).order_by(col(ApiTokenRow.created_at).desc())
    if not query.include_revoked:
        statement = statement.where(col(ApiTokenRow.revoked_at).is_(None))
    return ApiTokenList(tokens=[view(row) for row in session.exec(statement).all()])
