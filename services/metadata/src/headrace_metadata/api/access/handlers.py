"""The token commands and query on the bus, and the admin token ``headrace up`` asks for
(``HEADRACE_API_ADMIN_TOKEN_SHA256``) recorded at start. Each token created or revoked is
audited (``AuditRecorded``, published through the outbox in the same transaction)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from headrace_contracts import (
    ApiTokenCreated,
    ApiTokenRejected,
    ApiTokenRevoked,
    AuditRecorded,
    CreateApiToken,
    RevokeApiToken,
    new_event_id,
)
from headrace_runtime import HandlerContext, outbox_row

from .audit import audit_row
from .settings import AccessSettings
from .tables import ApiTokenRow
from .tokens import TokenRefused, by_digest, create, revoke, view

log = logging.getLogger("headrace.metadata.access")

BOOTSTRAPPER = "headrace up"


def token_audit(
    action: str, actor: str, target: str, *, reason: str = "", at: datetime | None = None
) -> AuditRecorded:
    return AuditRecorded(
        actor=actor or "unknown",
        auth_method="bus",
        action=action,
        target=target,
        outcome="failed" if reason else "succeeded",
        reason=reason,
        at=at or datetime.now(UTC),
    )


def _audited(ctx: HandlerContext[Any], event: AuditRecorded) -> None:
    ctx.session.add(audit_row(event, ctx.publish(event)))


async def create_token(command: CreateApiToken, ctx: HandlerContext[CreateApiToken]) -> None:
    at = datetime.now(UTC)
    try:
        row, again = create(ctx.session, command, at)
    except TokenRefused as exc:
        ctx.publish(
            ApiTokenRejected(token=command.name, reason=str(exc), request_id=command.request_id)
        )
        audit = token_audit("token.create", command.requested_by, command.name, reason=str(exc))
        _audited(ctx, audit)
        return
    ctx.publish(ApiTokenCreated(token=view(row), request_id=command.request_id))
    if not again:
        target = f"{row.name} ({row.id}, {row.role})"
        _audited(ctx, token_audit("token.create", command.requested_by, target, at=at))


async def revoke_token(command: RevokeApiToken, ctx: HandlerContext[RevokeApiToken]) -> None:
    at = datetime.now(UTC)
    try:
        row = revoke(ctx.session, command.token, at)
    except TokenRefused as exc:
        ctx.publish(
            ApiTokenRejected(token=command.token, reason=str(exc), request_id=command.request_id)
        )
        audit = token_audit("token.revoke", command.requested_by, command.token, reason=str(exc))
        _audited(ctx, audit)
        return
    ctx.publish(ApiTokenRevoked(token=view(row), request_id=command.request_id))
    target = f"{row.name} ({row.id}, {row.role})"
    _audited(ctx, token_audit("token.revoke", command.requested_by, target, at=at))


def bootstrap_admin(engine: Engine, settings: AccessSettings, source: str) -> list[str]:
    """Record the admin token whose digest ``headrace up`` gave; the outbox ids to publish.
    A token of the same name an earlier ``headrace up`` made (its secret file was replaced)
    is revoked; one revoked by an admin is not made again."""
    digest, name = settings.admin_token_sha256, settings.admin_token_name
    if not digest:
        return []
    at = datetime.now(UTC)
    with Session(engine) as session:
        known = by_digest(session, digest)
        if known is not None:
            if known.revoked_at is not None:
                log.warning(
                    "the admin token of `headrace up` (%s) was revoked: delete the home's "
                    "api-token file and run `headrace up` again for a new one",
                    known.name,
                )
            return []
        events: list[AuditRecorded] = []
        in_force = col(ApiTokenRow.revoked_at).is_(None)
        for old in session.exec(
            select(ApiTokenRow).where(ApiTokenRow.name == name, in_force)
        ).all():
            if old.created_by == BOOTSTRAPPER:
                old.revoked_at = at
                session.add(old)
                events.append(token_audit("token.revoke", BOOTSTRAPPER, f"{old.name} ({old.id})"))
        command = CreateApiToken(
            name=name,
            role="admin",
            secret_sha256=digest,
            description="the local user's token, made by `headrace up`",
            requested_by=BOOTSTRAPPER,
        )
        try:
            row, _ = create(session, command, at)
        except TokenRefused as exc:
            log.warning("cannot record the admin token of `headrace up`: %s", exc)
            return []
        events.append(token_audit("token.create", BOOTSTRAPPER, f"{row.name} ({row.id}, admin)"))
        ids = []
        for event in events:
            event_id = new_event_id()
            session.add(outbox_row(event, source=source, event_id=event_id))
            session.add(audit_row(event, event_id))
            ids.append(event_id)
        try:
            session.commit()
        except IntegrityError:  # another replica recorded it a moment ago
            session.rollback()
            return []
    log.info("recorded the admin token %r of `headrace up`", name)
    return ids
