"""``/api/v1/tokens`` and ``/api/v1/audit``: what an admin reads over HTTP (the middleware
lets only the admin role in; tokens are created and revoked over the bus, by the CLI); and
``/api/v1/whoami``: who the caller is to the API, so the dashboard offers only what their
role may do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from headrace_contracts import ApiTokenList, AuditRecorded, ListApiTokens

from ..routes import known_parameters
from .audit import recent, recorded
from .identity import ANONYMOUS, Identity
from .roles import allows
from .tokens import list_tokens


class AuditPage(BaseModel):
    """Audit events, newest first; pass ``next_before`` as ``before`` for older ones."""

    events: list[AuditRecorded] = Field(default_factory=list)
    next_before: int = Field(default=0, description="0: no older events")


class Caller(BaseModel):
    """Who is asking, as the API sees them."""

    actor: str = Field(description="the token's name, the proxy's user, or anonymous")
    role: str = Field(description="viewer, editor or admin")
    auth_method: str = Field(description="token, cookie, proxy, or off (no authentication)")
    may_write: bool = Field(description="whether the role may start, cancel or promote")
    may_administer: bool = Field(description="whether the role may read tokens and audit")


def router(engine: Engine) -> APIRouter:
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)], tags=["access"])

    @api.get("/tokens", response_model=ApiTokenList)
    async def tokens(
        revoked: Annotated[bool, Query(description="also list revoked tokens")] = False,
    ) -> ApiTokenList:
        """The API's tokens (never their secrets); admin only."""

        def read() -> ApiTokenList:
            with Session(engine) as session:
                return list_tokens(session, ListApiTokens(include_revoked=revoked))

        return await run_in_threadpool(read)

    @api.get("/audit", response_model=AuditPage)
    async def audit(
        limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
        before: Annotated[int | None, Query(ge=1, description="next_before of a page")] = None,
    ) -> AuditPage:
        """Writes through the API and token changes, newest first; admin only."""

        def read() -> AuditPage:
            with Session(engine) as session:
                rows = recent(session, limit=limit, before=before)
            more = len(rows) == limit and rows[-1].id is not None
            return AuditPage(
                events=[recorded(r) for r in rows],
                next_before=rows[-1].id if more and rows[-1].id else 0,
            )

        return await run_in_threadpool(read)

    @api.get("/whoami", response_model=Caller)
    async def whoami(request: Request) -> Caller:
        """The caller's name, role and what that role may do."""
        identity: Identity = getattr(request.state, "identity", ANONYMOUS)
        return Caller(
            actor=identity.actor,
            role=identity.role,
            auth_method=identity.method,
            may_write=allows(identity.role, "editor"),
            may_administer=allows(identity.role, "admin"),
        )

    return api
