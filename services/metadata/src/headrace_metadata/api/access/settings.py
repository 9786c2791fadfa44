"""Who may use the HTTP API and dashboard: ``HEADRACE_API_*`` read once at service start
(see ``docs/access.md``)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from headrace_contracts.access import ROLES

Role = Literal["viewer", "editor", "admin"]


class AccessSettings(BaseSettings):
    """``HEADRACE_API_AUTH``: ``token`` (default) or ``off``.

    A trusted identity header from an OIDC proxy (oauth2-proxy, ...) is honoured only when
    ``HEADRACE_API_TRUSTED_HEADER`` names it (e.g. ``X-Forwarded-Email``), and only on
    requests from ``HEADRACE_API_TRUSTED_PROXIES`` (addresses or networks, comma-separated;
    default loopback). The identity's groups (``HEADRACE_API_TRUSTED_GROUPS_HEADER``,
    comma-separated) map to roles through ``HEADRACE_API_TRUSTED_ROLES``
    (``group=role,group=role``), the highest wins; an identity with no mapped group gets
    ``HEADRACE_API_TRUSTED_DEFAULT_ROLE`` (default: none, refused).

    ``HEADRACE_API_ADMIN_TOKEN_SHA256`` (set by ``headrace up``): the service records an
    admin token with this digest, named ``HEADRACE_API_ADMIN_TOKEN_NAME``, at start.
    """

    model_config = SettingsConfigDict(env_prefix="HEADRACE_API_", extra="ignore")

    auth: Literal["token", "off"] = "token"
    trusted_header: str = ""
    trusted_groups_header: str = "X-Forwarded-Groups"
    trusted_roles: Annotated[dict[str, Role], NoDecode] = {}
    trusted_default_role: Literal["", "viewer", "editor", "admin"] = ""
    trusted_proxies: Annotated[list[str], NoDecode] = ["127.0.0.1/32", "::1/128"]
    admin_token_sha256: str = ""
    admin_token_name: str = "local-admin"

    @field_validator("trusted_roles", mode="before")
    @classmethod
    def _roles(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        mapping: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            group, equals, role = item.rpartition("=")
            if not equals or not group.strip() or role.strip() not in ROLES:
                raise ValueError(
                    f"{item!r} is not GROUP=ROLE with ROLE one of {', '.join(ROLES)} "
                    "(e.g. ml-admins=admin,ml-team=editor)"
                )
            mapping[group.strip()] = role.strip()
        return mapping

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        found = [str(item).strip() for item in items if str(item).strip()]
        for item in found:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8,127.0.0.1)"
                ) from None
        return found

    @field_validator("admin_token_sha256")
    @classmethod
    def _digest(cls, value: str) -> str:
        value = value.strip().lower()
        if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
            raise ValueError("must be the 64 hex digits of a SHA-256 (or empty)")
        return value

    @field_validator("trusted_header", "trusted_groups_header")
    @classmethod
    def _header(cls, value: str) -> str:
        return value.strip()

    @property
    def enabled(self) -> bool:
        return self.auth == "token"

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies]
