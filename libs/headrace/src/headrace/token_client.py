"""The client's calls for the HTTP API's access tokens (mixed into :class:`headrace.Client`).

::

    with Client() as client:
        secret, token = client.create_token("ci", "editor", expires_in=timedelta(days=30))
        client.revoke_token("ci")

The secret is made here and never leaves this process: ``CreateApiToken`` carries only its
SHA-256, so the bus, the stream and the metadata service's tables never hold it. The call
waits for the metadata service's event repeating the command's ``request_id``.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from headrace_bus import Bus, first_answer
from headrace_contracts import (
    ApiTokenCreated,
    ApiTokenList,
    ApiTokenRejected,
    ApiTokenRevoked,
    ApiTokenView,
    CreateApiToken,
    ListApiTokens,
    Message,
    Query,
    RevokeApiToken,
)
from headrace_contracts.access import ROLES, new_token_secret, token_digest

from .run_errors import ClientError

__all__ = ["InvalidTokenRequest", "TokenCalls", "TokenError", "TokenRejectedError", "local_user"]

T = TypeVar("T")
ANSWERER = "the metadata service"


class TokenError(ClientError):
    """Root of the token calls' errors."""


class InvalidTokenRequest(TokenError, ValueError):
    """Refused here, before anything was sent (an unknown role, a bad expiry)."""


class TokenRejectedError(TokenError, ValueError):
    """The metadata service refused: ``reason`` says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def local_user() -> str:
    """``user@host`` of this process, for the audit trail."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class TokenCalls:
    """Token calls of :class:`headrace.Client`; they need its loop and bus."""

    if TYPE_CHECKING:
        nats_url: str
        timeout: float
        submit_timeout: float

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _connected(self) -> Bus: ...
        async def _publish(self, message: Message) -> None: ...
        async def _ask(self, query: Query, who: str = ...) -> Any: ...

    def create_token(
        self,
        name: str,
        role: str,
        *,
        expires_in: timedelta | None = None,
        description: str = "",
        requested_by: str = "",
    ) -> tuple[str, ApiTokenView]:
        """A new token: its secret (shown to nobody else, ever) and how it is listed."""
        if role not in ROLES:
            raise InvalidTokenRequest(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidTokenRequest(f"a token must expire in the future (got {expires_in})")
        secret = new_token_secret()
        command = CreateApiToken(
            name=name,
            role=role,
            secret_sha256=token_digest(secret),
            description=description,
            expires_at=datetime.now(UTC) + expires_in if expires_in is not None else None,
            requested_by=requested_by or local_user(),
            request_id=uuid.uuid4().hex,
        )
        answer = self._call(self._token_command(command, command.name))
        assert isinstance(answer, ApiTokenCreated)
        return secret, answer.token

    def revoke_token(self, token: str, *, requested_by: str = "") -> ApiTokenView:
        """Revoke the token in force with this name or id; its holders get 401 from now on."""
        command = RevokeApiToken(
            token=token, requested_by=requested_by or local_user(), request_id=uuid.uuid4().hex
        )
        answer = self._call(self._token_command(command, token))
        assert isinstance(answer, ApiTokenRevoked)
        return answer.token

    def list_tokens(self, *, include_revoked: bool = False) -> list[ApiTokenView]:
        reply = self._call(self._ask(ListApiTokens(include_revoked=include_revoked), ANSWERER))
        assert isinstance(reply, ApiTokenList)
        return list(reply.tokens)

    async def _token_command(self, command: CreateApiToken | RevokeApiToken, name: str) -> Message:
        """Publish ``command``; the event answering it, or :class:`TokenRejectedError`."""
        await self._ask(ListApiTokens(), ANSWERER)  # is a metadata service there at all?
        bus = await self._connected()
        try:
            outcome = await first_answer(
                bus,
                lambda: self._publish(command),
                (ApiTokenCreated, ApiTokenRevoked, ApiTokenRejected),
                field="request_id",
                value=command.request_id,
                timeout=self.submit_timeout,
            )
        except TimeoutError:
            raise TokenError(
                f"{type(command).__name__} for token {name!r} was sent, but {ANSWERER} did "
                f"not answer within {self.submit_timeout:g}s: it may be busy; check "
                "`headrace token list` later"
            ) from None
        if isinstance(outcome, ApiTokenRejected):
            raise TokenRejectedError(outcome.reason)
        return outcome
