"""The audit trail (area ``audit``): one :class:`AuditRecorded` for every write through the
HTTP API (done, failed or refused) and every token created or revoked."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .base import Event

AUTH_METHODS = ("token", "cookie", "proxy", "off", "bus")


class AuditRecorded(Event):
    """Who did what, how they proved it, and how it ended."""

    AREA = "audit"
    NAME = "recorded"

    actor: str = Field(description="the token's name, the proxy's identity, or who asked")
    role: str = Field(default="", description="the actor's role; empty when unknown")
    auth_method: str = Field(description="token, cookie, proxy, off (auth disabled) or bus")
    action: str = Field(
        description="METHOD and route for HTTP ('POST /api/v1/runs/{run_id}/cancel'); "
        "token.create or token.revoke for tokens"
    )
    target: str = Field(default="", description="the request's path, or the token's name")
    status: int = Field(default=0, description="the HTTP status answered (0: not HTTP)")
    outcome: str = Field(
        description="succeeded, denied (refused by access control: 401/403) or failed"
    )
    reason: str = ""
    at: datetime
    request_id: str = ""
    source_address: str = Field(default="", description="the client's address, for HTTP")
