"""The pure rules of API access: which role a request needs by method and path, how roles
compare, what ``HEADRACE_API_*`` accept, how a bearer header and a proxy's identity header
are read, and why a token does not hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headrace_contracts.access import ROLES, new_token_secret, token_digest
from headrace_metadata.api.access.identity import Identity, Presented, Refusal, bearer, from_proxy
from headrace_metadata.api.access.roles import allows, highest, required_role
from headrace_metadata.api.access.settings import AccessSettings
from headrace_metadata.api.access.tables import ApiTokenRow
from headrace_metadata.api.access.tokens import why_not_valid
from headrace_runtime import SettingsError, settings_from_environment


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [
        ("GET", "/api/v1/runs", "viewer"),
        ("HEAD", "/api/v1/runs/r1", "viewer"),
        ("OPTIONS", "/api/v1/models", "viewer"),
        ("GET", "/api/v1/events", "viewer"),
        ("POST", "/api/v1/runs", "editor"),
        ("POST", "/api/v1/runs/r1/cancel", "editor"),
        ("PUT", "/api/v1/models/m/promote", "editor"),
        ("PATCH", "/api/v1/anything-added-later", "editor"),
        ("DELETE", "/api/v1/runs/r1", "editor"),
        ("POST", "/somewhere/outside/the/api", "editor"),
        ("GET", "/api/v1/tokens", "admin"),
        ("POST", "/api/v1/tokens/abc", "admin"),
        ("GET", "/api/v1/audit", "admin"),
        ("GET", "/", None),
        ("GET", "/assets/app.js", None),
        ("GET", "/login", None),
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/api/v1/docs", None),
        ("GET", "/api/v1/tokensmith", "viewer"),
    ],
)
def test_the_role_a_request_needs(method: str, path: str, needed: str | None) -> None:
    assert required_role(method, path) == needed


def test_roles_are_ordered() -> None:
    assert ROLES == ("viewer", "editor", "admin")
    assert allows("admin", "editor")
    assert allows("editor", "editor")
    assert allows("editor", "viewer")
    assert not allows("viewer", "editor")
    assert not allows("editor", "admin")
    assert not allows("", "viewer")
    assert not allows("root", "viewer")
    assert highest(["viewer", "admin", "editor"]) == "admin"
    assert highest(["nobody"]) == ""


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    default = settings_from_environment(AccessSettings)
    assert (default.auth, default.enabled, default.trusted_header) == ("token", True, "")
    assert default.trusted_proxies == ["127.0.0.1/32", "::1/128"]
    monkeypatch.setenv("HEADRACE_API_AUTH", "off")
    monkeypatch.setenv("HEADRACE_API_TRUSTED_HEADER", " X-Forwarded-Email ")
    monkeypatch.setenv("HEADRACE_API_TRUSTED_ROLES", "ml-admins=admin, ml-team=editor,")
    monkeypatch.setenv("HEADRACE_API_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")
    monkeypatch.setenv("HEADRACE_API_TRUSTED_DEFAULT_ROLE", "viewer")
    found = settings_from_environment(AccessSettings)
    assert (found.auth, found.enabled, found.trusted_header) == ("off", False, "X-Forwarded-Email")
    assert found.trusted_roles == {"ml-admins": "admin", "ml-team": "editor"}
    assert found.trusted_proxies == ["10.0.0.0/8", "192.168.1.7"]
    assert found.trusted_default_role == "viewer"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("AUTH", "none", "HEADRACE_API_AUTH='none'"),
        ("TRUSTED_ROLES", "ml-team=owner", "is not GROUP=ROLE with ROLE one of viewer, editor"),
        ("TRUSTED_ROLES", "ml-team", "'ml-team' is not GROUP=ROLE"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local", "'proxy.local' is not an IP address"),
        ("TRUSTED_DEFAULT_ROLE", "root", "HEADRACE_API_TRUSTED_DEFAULT_ROLE='root'"),
        ("ADMIN_TOKEN_SHA256", "abc", "must be the 64 hex digits of a SHA-256"),
    ],
)
def test_wrong_settings_are_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(f"HEADRACE_API_{name}", value)
    with pytest.raises(SettingsError, match=f"HEADRACE_API_{name}") as refused:
        settings_from_environment(AccessSettings)
    assert said in str(refused.value)


def test_the_authorization_header() -> None:
    assert bearer("") is None
    assert bearer("Bearer hrt_x") == Presented("hrt_x", "token")
    assert bearer("bearer   hrt_x ") == Presented("hrt_x", "token")
    wrong = bearer("Basic dXNlcg==")
    assert isinstance(wrong, Refusal)
    assert wrong.status == 401
    assert "must be `Bearer TOKEN` (got a 'Basic' one)" in wrong.reason
    assert isinstance(bearer("Bearer"), Refusal)


PROXY = AccessSettings(
    trusted_header="X-Forwarded-Email",
    trusted_roles={"ml-team": "editor", "ml-admins": "admin"},
)


def test_a_proxy_identity_counts_only_when_configured_and_from_a_trusted_address() -> None:
    headers = {"X-Forwarded-Email": "ada@example.org", "X-Forwarded-Groups": "staff, ml-team"}
    assert from_proxy(AccessSettings(), headers, "127.0.0.1") is None  # not configured
    assert from_proxy(PROXY, {}, "127.0.0.1") is None  # no header
    assert from_proxy(PROXY, headers, "127.0.0.1") == Identity("ada@example.org", "editor", "proxy")
    assert from_proxy(PROXY, headers, "::1") == Identity("ada@example.org", "editor", "proxy")
    both = {**headers, "X-Forwarded-Groups": "ml-team,ml-admins"}
    assert from_proxy(PROXY, both, "127.0.0.1") == Identity("ada@example.org", "admin", "proxy")
    ignored = from_proxy(PROXY, headers, "203.0.113.9")
    assert ignored == (
        "the X-Forwarded-Email header was ignored: 203.0.113.9 is not in "
        "HEADRACE_API_TRUSTED_PROXIES"
    )
    networks = PROXY.model_copy(update={"trusted_proxies": ["203.0.113.0/24"]})
    assert isinstance(from_proxy(networks, headers, "203.0.113.9"), Identity)
    stranger = from_proxy(PROXY, {"X-Forwarded-Email": "eve@example.org"}, "127.0.0.1")
    assert isinstance(stranger, Refusal)
    assert stranger.status == 403
    assert stranger.reason.startswith("eve@example.org (groups: none) has no role here")
    fallback = PROXY.model_copy(update={"trusted_default_role": "viewer"})
    found = from_proxy(fallback, {"X-Forwarded-Email": "eve@example.org"}, "127.0.0.1")
    assert found == Identity("eve@example.org", "viewer", "proxy")


def test_why_a_token_does_not_hold() -> None:
    now = datetime.now(UTC)
    secret = new_token_secret()
    assert secret.startswith("hrt_")
    assert len(secret) > 40
    assert token_digest(secret) != token_digest(new_token_secret())
    row = ApiTokenRow(id="t1", name="ci", role="viewer", secret_sha256=token_digest(secret))
    assert why_not_valid(row, now) == ""
    assert "not known" in why_not_valid(None, now)
    later = row.model_copy(update={"expires_at": now + timedelta(hours=1)})
    assert why_not_valid(later, now) == ""
    assert "token 'ci' (t1) expired at" in why_not_valid(later, now + timedelta(hours=2))
    naive = row.model_copy(update={"expires_at": (now - timedelta(seconds=1)).replace(tzinfo=None)})
    assert "expired" in why_not_valid(naive, now)  # SQLite's naive datetimes are UTC
    revoked = row.model_copy(update={"revoked_at": now})
    assert "token 'ci' (t1) was revoked at" in why_not_valid(revoked, now)
