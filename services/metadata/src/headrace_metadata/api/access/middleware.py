"""The gate in front of every route: who is asking (token, cookie or trusted proxy header),
whether their role allows the request (``roles.py``), and an audit event for every write,
allowed or not, with the status it got.

An ASGI middleware rather than a FastAPI dependency, so routes added by anyone, static
files and streams are covered without naming them. The accepted identity is in
``request.state.identity`` (:class:`~.identity.Identity`) for the routes that want it.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headrace_contracts import AuditRecorded
from headrace_contracts.access import token_digest

from .audit import AuditTrail, outcome_of
from .identity import (
    ANONYMOUS,
    COOKIE,
    Identity,
    Presented,
    Refusal,
    bearer,
    from_proxy,
    no_credentials,
    trusted_source,
)
from .roles import allows, is_write, required_role
from .settings import AccessSettings
from .tables import ApiTokenRow, aware
from .tokens import by_digest, why_not_valid

log = logging.getLogger("headrace.metadata.access")

LOGIN = "/login"
COOKIE_MAX_AGE = timedelta(days=30)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Engine,
        settings: AccessSettings,
        audit: AuditTrail | None = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.settings = settings
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        method, path = request.method, request.url.path
        if path == LOGIN and method == "GET":
            response = await self._login(request)
            await response(scope, receive, send)
            return
        needed = required_role(method, path)
        write = is_write(method)
        if needed is None and not write:
            await self.app(scope, receive, send)
            return
        found = await self._identify(request) if self.settings.enabled else ANONYMOUS
        if isinstance(found, Identity) and needed and not allows(found.role, needed):
            found = Refusal(
                403,
                f"{method} {path} needs the {needed} role (or a higher one); {found.actor} "
                f"({found.method}) has {found.role or 'none'}",
                found,
            )
        request_id = _request_id(request)
        if isinstance(found, Refusal):
            if write:
                await self._audit(request, request_id, found.identity, found.status, found)
            await _refused(found, request_id)(scope, receive, send)
            return
        scope.setdefault("state", {})["identity"] = found
        if not write:
            await self.app(scope, receive, send)
            return
        await self._write(scope, receive, send, request, request_id, found)

    # the parts ---------------------------------------------------------------------------

    async def _write(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        request_id: str,
        identity: Identity,
    ) -> None:
        """Let a write through; record it, with its status, before its answer goes out."""
        recorded = False

        async def send_recorded(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
                await self._audit(request, request_id, identity, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            if not recorded:
                await self._audit(request, request_id, identity, 500)
            raise

    async def _identify(self, request: Request) -> Identity | Refusal:
        presented = bearer(request.headers.get("authorization", ""))
        if isinstance(presented, Refusal):
            return presented
        hint = ""
        if presented is None:
            client = request.client.host if request.client else ""
            vouched = from_proxy(self.settings, request.headers, client)
            if isinstance(vouched, Identity | Refusal):
                return vouched
            hint = vouched or ""
            secret = request.cookies.get(COOKIE, "")
            presented = Presented(secret, "cookie") if secret else None
        if presented is None:
            return no_credentials(hint)
        found, _ = await self._check_token(presented)
        return found

    async def _check_token(
        self, presented: Presented
    ) -> tuple[Identity | Refusal, ApiTokenRow | None]:
        row = await run_in_threadpool(self._token, token_digest(presented.secret))
        reason = why_not_valid(row, datetime.now(UTC))
        if reason or row is None:
            return Refusal(401, reason), row
        identity = Identity(actor=row.name, role=row.role, method=presented.method, token_id=row.id)
        return identity, row

    def _token(self, digest: str) -> ApiTokenRow | None:
        with Session(self.engine) as session:
            return by_digest(session, digest)

    async def _login(self, request: Request) -> Response:
        """``/login?token=TOKEN``: the token in an HttpOnly, SameSite=Strict cookie, then
        the dashboard (``/``), whose requests (streams included) carry the cookie."""
        if not self.settings.enabled:
            return RedirectResponse("/", status_code=303)
        secret = request.query_params.get("token", "").strip()
        if not secret:
            return _refused(no_credentials("/login needs ?token=TOKEN"), "")
        found, row = await self._check_token(Presented(secret, "cookie"))
        if isinstance(found, Refusal):
            return _refused(found, "")
        max_age = COOKIE_MAX_AGE
        if row is not None and row.expires_at is not None:
            max_age = min(max_age, aware(row.expires_at) - datetime.now(UTC))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            secret,
            max_age=max(int(max_age.total_seconds()), 1),
            path="/",
            httponly=True,
            samesite="strict",
            secure=self._over_https(request),
        )
        return response

    def _over_https(self, request: Request) -> bool:
        """Whether the browser talks HTTPS: to this server, or to a trusted proxy that says
        so (``X-Forwarded-Proto``)."""
        if request.url.scheme == "https":
            return True
        peer = request.client.host if request.client else ""
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        return forwarded == "https" and trusted_source(self.settings, peer)

    async def _audit(
        self,
        request: Request,
        request_id: str,
        identity: Identity | None,
        status: int,
        refusal: Refusal | None = None,
    ) -> None:
        event = AuditRecorded(
            actor=identity.actor if identity else "unauthenticated",
            role=identity.role if identity else "",
            auth_method=identity.method if identity else "",
            action=f"{request.method} {_route(request.scope)}",
            target=request.url.path,
            status=status,
            outcome=outcome_of(status, denied=refusal is not None),
            reason=refusal.reason if refusal else "",
            at=datetime.now(UTC),
            request_id=request_id,
            source_address=request.client.host if request.client else "",
        )
        if self.audit is None:
            log.info("audit: %s", event.model_dump_json())
            return
        await self.audit.record(event)


def _refused(refusal: Refusal, request_id: str) -> JSONResponse:
    headers = {"x-request-id": request_id} if request_id else {}
    if refusal.status == 401:
        headers["www-authenticate"] = 'Bearer realm="headrace"'
    return JSONResponse({"error": refusal.reason}, status_code=refusal.status, headers=headers)


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _route(scope: Scope) -> str:
    """The route template a request matched (``/api/v1/runs/{run_id}/cancel``), else its
    path: the action of an audit event names the route, not each id."""
    route = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    for candidate in getattr(scope.get("app"), "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL and hasattr(candidate, "path"):
            return str(candidate.path)
    return str(scope.get("path", ""))
