"""Who is asking: the credentials a request carries, read without I/O. The token itself is
checked against the database by the middleware (``middleware.py``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from .roles import highest
from .settings import AccessSettings
from .tokens import HOW_TO_CREATE

COOKIE = "headrace_token"


@dataclass(frozen=True)
class Identity:
    """A caller the API accepted: ``method`` is token, cookie, proxy or off."""

    actor: str
    role: str
    method: str
    token_id: str = ""


ANONYMOUS = Identity(actor="anonymous", role="admin", method="off")
"""Everyone, when ``HEADRACE_API_AUTH=off``."""


@dataclass(frozen=True)
class Refusal:
    """A request turned away: 401 (who are you?) or 403 (not allowed), and why."""

    status: int
    reason: str
    identity: Identity | None = None


@dataclass(frozen=True)
class Presented:
    """A token secret a request presents, and how (``token``: header, ``cookie``)."""

    secret: str
    method: str


def no_credentials(hint: str = "") -> Refusal:
    return Refusal(
        401,
        "this API needs a token: send `Authorization: Bearer TOKEN`, or open /login?token=TOKEN "
        f"in the browser; {HOW_TO_CREATE}" + (f" ({hint})" if hint else ""),
    )


def bearer(authorization: str) -> Presented | Refusal | None:
    """The token of an ``Authorization`` header; ``None`` when there is none."""
    if not authorization.strip():
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return Refusal(
            401,
            f"the Authorization header must be `Bearer TOKEN` (got a {scheme!r} one); "
            f"{HOW_TO_CREATE}",
        )
    return Presented(secret.strip(), "token")


def trusted_source(settings: AccessSettings, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.proxy_networks())


def from_proxy(
    settings: AccessSettings, headers: Mapping[str, str], address: str
) -> Identity | Refusal | str | None:
    """The identity an OIDC proxy vouches for: only when ``HEADRACE_API_TRUSTED_HEADER`` is
    set and the request comes from a trusted proxy address. ``None`` when the request
    carries no such header; a ``str`` (the hint for a 401) when it carries one that must be
    ignored (from an untrusted address)."""
    if not settings.trusted_header:
        return None
    who = headers.get(settings.trusted_header, "").strip()
    if not who:
        return None
    if not trusted_source(settings, address):
        return (
            f"the {settings.trusted_header} header was ignored: {address or 'the client'} is "
            "not in HEADRACE_API_TRUSTED_PROXIES"
        )
    raw = headers.get(settings.trusted_groups_header, "") if settings.trusted_groups_header else ""
    groups = [g.strip() for g in raw.split(",") if g.strip()]
    role = highest([settings.trusted_roles[g] for g in groups if g in settings.trusted_roles])
    role = role or settings.trusted_default_role
    if not role:
        shown = ", ".join(groups) or "none"
        return Refusal(
            403,
            f"{who} (groups: {shown}) has no role here: an operator maps groups to roles "
            "with HEADRACE_API_TRUSTED_ROLES (group=role,...) or sets "
            "HEADRACE_API_TRUSTED_DEFAULT_ROLE",
            Identity(actor=who, role="", method="proxy"),
        )
    return Identity(actor=who, role=role, method="proxy")
