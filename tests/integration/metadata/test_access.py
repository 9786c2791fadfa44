"""Access to the HTTP API against the real metadata service on a real nats-server (SQLite
and, with HEADRACE_TEST_DATABASE_URL, PostgreSQL): tokens created, listed and revoked with
``headrace token`` over the bus; what each role may do; 401 for missing, unknown, revoked and
expired tokens; the cookie of ``/login``; a trusted proxy's header only where configured;
and an ``AuditRecorded`` on the bus for every write and token change."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from access_platform import ADMIN_NAME, Access, access_platform, bearer, get, post
from sqlalchemy import update
from sqlmodel import Session

from headrace.token_client import local_user
from headrace_contracts import (
    ApiTokenCreated,
    ApiTokenRejected,
    ApiTokenRevoked,
    AuditRecorded,
    CreateApiToken,
)
from headrace_contracts.access import token_digest
from headrace_metadata.api import AccessSettings, HttpSettings
from headrace_metadata.api.access.tables import ApiTokenRow
from headrace_metadata.app import build as build_metadata

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def access(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Access]:
    kind = str(request.param)
    yield from access_platform(kind, tmp_path_factory.mktemp(f"access-{kind}"))


def create(
    access: Access, capsys: pytest.CaptureFixture[str], name: str, role: str, *extra: str
) -> str:
    """``headrace token create NAME --role ROLE --json``: the secret it printed."""
    assert access.cli("create", name, "--role", role, "--json", *extra) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["token"]["name"] == name
    assert printed["token"]["role"] == role
    return str(printed["secret"])


def audited(access: Access, **fields: object) -> AuditRecorded:
    """The one audit event on the bus with ``fields`` (waited for)."""
    access.wait(lambda: access.platform.of(AuditRecorded, **fields), f"audit event {fields}")
    [event] = access.platform.of(AuditRecorded, **fields)
    return event


def test_the_cli_creates_lists_and_revokes_tokens_over_the_bus(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    assert access.cli("create", "ci-bot", "--role", "editor", "--description", "CI") == 0
    out = capsys.readouterr().out
    [secret] = [line.strip() for line in out.splitlines() if line.strip().startswith("hrt_")]
    assert "Token 'ci-bot' created" in out
    assert "role editor" in out
    assert "shown only now" in out
    assert get(f"{access.base}/api/v1/runs", secret).status_code == 200

    assert access.cli("list", "--json") == 0
    listed = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert listed["ci-bot"]["role"] == "editor"
    assert listed["ci-bot"]["description"] == "CI"
    assert listed["ci-bot"]["created_by"] == local_user()
    assert listed[ADMIN_NAME]["role"] == "admin"
    assert secret not in json.dumps(listed)
    assert "secret" not in json.dumps(listed)

    assert access.cli("create", "ci-bot", "--role", "viewer") == 2
    assert "a token named 'ci-bot' is already in force" in capsys.readouterr().err

    token_id = listed["ci-bot"]["id"]
    assert access.cli("revoke", token_id) == 0
    assert capsys.readouterr().out == f"Token 'ci-bot' ({token_id}) revoked.\n"
    assert access.cli("revoke", "ci-bot") == 2
    assert "no token in force is named 'ci-bot'" in capsys.readouterr().err
    assert access.cli("list") == 0
    assert "ci-bot" not in capsys.readouterr().out
    assert access.cli("list", "--all") == 0
    assert "ci-bot" in capsys.readouterr().out

    created = access.platform.of(ApiTokenCreated)
    assert "ci-bot" in [e.token.name for e in created]
    assert [e.token.id for e in access.platform.of(ApiTokenRevoked)] == [token_id]
    made = audited(access, action="token.create", target=f"ci-bot ({token_id}, editor)")
    assert (made.actor, made.auth_method, made.outcome) == (local_user(), "bus", "succeeded")
    revoked = audited(access, action="token.revoke", target=f"ci-bot ({token_id}, editor)")
    assert (revoked.actor, revoked.outcome) == (local_user(), "succeeded")
    refused = audited(access, action="token.revoke", target="ci-bot")
    assert refused.outcome == "failed"
    assert "no token in force" in refused.reason


def test_bad_roles_and_expiries_are_refused_before_anything_is_sent(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        access.cli("create", "x", "--role", "owner")
    assert exited.value.code == 2
    assert "invalid choice: 'owner'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        access.cli("create", "x", "--role", "viewer", "--expires", "soon")
    assert "expected a duration such as 90m, 12h, 30d or 2w" in capsys.readouterr().err
    assert access.cli("create", "bad name!", "--role", "viewer") == 2
    assert "token name 'bad name!' is not valid" in capsys.readouterr().err
    # Sent on the bus by another client, past the CLI's checks: the service refuses too.
    access.platform.publish(
        CreateApiToken(name="x", role="root", secret_sha256="0" * 64, request_id="bad-role")
    )
    access.wait(lambda: access.platform.of(ApiTokenRejected, request_id="bad-role"), "refusal")
    [rejected] = access.platform.of(ApiTokenRejected, request_id="bad-role")
    assert rejected.reason == (
        "role 'root' of token 'x' is not known: use one of viewer, editor, admin"
    )


def test_a_viewer_reads_but_cannot_write(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer = create(access, capsys, "dash-viewer", "viewer", "--expires", "2h")
    assert get(f"{access.base}/api/v1/runs", viewer).status_code == 200
    assert get(f"{access.base}/api/v1/models", viewer).status_code == 200
    refused = post(f"{access.base}/api/v1/runs", viewer, headers={"X-Request-Id": "viewer-post"})
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "POST /api/v1/runs needs the editor role (or a higher one); dash-viewer "
        "(token) has viewer"
    }
    assert refused.headers["x-request-id"] == "viewer-post"
    event = audited(access, request_id="viewer-post")
    assert (event.actor, event.role, event.auth_method) == ("dash-viewer", "viewer", "token")
    assert (event.action, event.target) == ("POST /api/v1/runs", "/api/v1/runs")
    assert (event.status, event.outcome) == (403, "denied")
    assert "needs the editor role" in event.reason
    assert get(f"{access.base}/api/v1/tokens", viewer).status_code == 403
    # what the dashboard asks to offer only what the role may do
    assert get(f"{access.base}/api/v1/whoami", viewer).json() == {
        "actor": "dash-viewer",
        "role": "viewer",
        "auth_method": "token",
        "may_write": False,
        "may_administer": False,
    }
    admin = get(f"{access.base}/api/v1/whoami", access.admin).json()
    assert (admin["role"], admin["may_write"], admin["may_administer"]) == ("admin", True, True)
    assert get(f"{access.base}/api/v1/whoami", "not-a-token").status_code == 401


def test_an_editor_writes_and_every_write_is_audited_with_its_status(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    editor = create(access, capsys, "trainer-bot", "editor")
    extra = access.app(AccessSettings())  # a route of its own: covered without naming it
    done = httpx.post(f"{extra}/api/v1/echo/42", headers=bearer(editor), timeout=10)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "item": "42",
        "actor": "trainer-bot",
        "role": "editor",
        "method": "token",
    }
    event = audited(access, request_id=done.headers["x-request-id"])
    assert (event.actor, event.role, event.auth_method) == ("trainer-bot", "editor", "token")
    assert (event.action, event.target) == ("POST /api/v1/echo/{item}", "/api/v1/echo/42")
    assert (event.status, event.outcome, event.source_address) == (200, "succeeded", "127.0.0.1")

    # The service's own API: the editor passes the gate; the route answers 405 (GET only).
    failed = post(f"{access.base}/api/v1/experiments", editor)
    assert failed.status_code == 405
    event = audited(access, request_id=failed.headers["x-request-id"])
    assert (event.actor, event.status, event.outcome) == ("trainer-bot", 405, "failed")
    assert get(f"{access.base}/api/v1/audit", editor).status_code == 403


def test_an_admin_lists_tokens_and_the_audit_trail(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer = create(access, capsys, "audit-viewer", "viewer")
    post(f"{access.base}/api/v1/models", viewer, headers={"X-Request-Id": "for-the-trail"})
    audited(access, request_id="for-the-trail")
    tokens = get(f"{access.base}/api/v1/tokens", access.admin)
    assert tokens.status_code == 200, tokens.text
    names = {t["name"]: t["role"] for t in tokens.json()["tokens"]}
    assert names[ADMIN_NAME] == "admin"
    assert names["audit-viewer"] == "viewer"
    assert "secret" not in tokens.text

    trail = get(f"{access.base}/api/v1/audit", access.admin, params={"limit": 1000}).json()
    mine = [e for e in trail["events"] if e["request_id"] == "for-the-trail"]
    assert [(e["actor"], e["status"], e["outcome"]) for e in mine] == [
        ("audit-viewer", 403, "denied")
    ]
    at = [e["at"] for e in trail["events"]]
    assert at == sorted(at, reverse=True)
    first = get(f"{access.base}/api/v1/audit", access.admin, params={"limit": 1}).json()
    assert len(first["events"]) == 1
    older = get(
        f"{access.base}/api/v1/audit",
        access.admin,
        params={"limit": 1, "before": first["next_before"]},
    ).json()
    assert older["events"][0]["at"] <= first["events"][0]["at"]
    assert older["events"] != first["events"]


def test_missing_unknown_revoked_and_expired_tokens_get_401(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{access.base}/api/v1/runs"
    missing = get(url)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="headrace"'
    assert missing.json()["error"].startswith(
        "this API needs a token: send `Authorization: Bearer TOKEN`, or open /login?token=TOKEN"
    )
    assert "headrace token create NAME --role viewer|editor|admin" in missing.json()["error"]
    unknown = get(url, "hrt_not-a-token")
    assert unknown.status_code == 401
    assert "the token presented is not known" in unknown.json()["error"]
    basic = httpx.get(url, headers={"Authorization": "Basic dXNlcjpwdw=="}, timeout=10)
    assert basic.status_code == 401
    assert "must be `Bearer TOKEN` (got a 'Basic' one)" in basic.json()["error"]

    revoked = create(access, capsys, "short-lived", "viewer")
    assert get(url, revoked).status_code == 200
    assert access.cli("revoke", "short-lived") == 0
    assert "revoked" in capsys.readouterr().out
    gone = get(url, revoked)
    assert gone.status_code == 401
    assert "token 'short-lived'" in gone.json()["error"]
    assert "was revoked at" in gone.json()["error"]

    expiring = create(access, capsys, "expiring", "viewer", "--expires", "1h")
    assert get(url, expiring).status_code == 200
    assert access.metadata.engine is not None
    with Session(access.metadata.engine) as session:  # an hour later, without waiting one
        past = datetime.now(UTC) - timedelta(seconds=1)
        table = ApiTokenRow.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.name == "expiring").values(expires_at=past)
        )
        session.commit()
    expired = get(url, expiring)
    assert expired.status_code == 401
    assert "token 'expiring'" in expired.json()["error"]
    assert "expired at" in expired.json()["error"]
    denied = post(url, expiring, headers={"X-Request-Id": "expired-post"})
    assert denied.status_code == 401
    event = audited(access, request_id="expired-post")
    assert (event.actor, event.status, event.outcome) == ("unauthenticated", 401, "denied")


def test_login_sets_a_cookie_the_dashboard_and_its_streams_carry(
    access: Access, capsys: pytest.CaptureFixture[str]
) -> None:
    viewer = create(access, capsys, "browser", "viewer")
    with httpx.Client(base_url=access.base, timeout=10) as browser:
        assert browser.get("/api/v1/runs").status_code == 401
        assert browser.get("/api/v1/openapi.json").status_code == 200  # public, no data
        assert browser.get("/api/v1/docs").status_code == 200
        assert browser.get("/").status_code != 401  # the dashboard's files need no token
        bad = browser.get("/login", params={"token": "hrt_wrong"})
        assert bad.status_code == 401
        assert "not known" in bad.json()["error"]
        assert browser.get("/login").status_code == 401

        login = browser.get("/login", params={"token": viewer})
        assert login.status_code == 303
        assert login.headers["location"] == "/"
        cookie = login.headers["set-cookie"]
        assert cookie.startswith(f"headrace_token={viewer};")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/" in cookie
        assert browser.cookies.get("headrace_token") == viewer

        assert "Secure" not in cookie
        assert browser.get("/api/v1/runs").status_code == 200
        refused = browser.post("/api/v1/runs", headers={"X-Request-Id": "cookie-post"})
        assert refused.status_code == 403
    event = audited(access, request_id="cookie-post")
    assert (event.actor, event.auth_method) == ("browser", "cookie")
    # Behind a TLS-terminating proxy on a trusted address, the cookie is Secure.
    https = httpx.get(
        f"{access.base}/login",
        params={"token": viewer},
        headers={"X-Forwarded-Proto": "https"},
        timeout=10,
    )
    assert https.status_code == 303
    assert "Secure" in https.headers["set-cookie"]


def test_a_trusted_proxy_header_counts_only_where_configured(access: Access) -> None:
    vouched = {"X-Forwarded-Email": "ada@example.org", "X-Forwarded-Groups": "ml-team,staff"}
    # The service as configured by default: the header is anybody's, so it is ignored.
    ignored = httpx.get(f"{access.base}/api/v1/runs", headers=vouched, timeout=10)
    assert ignored.status_code == 401

    proxied = access.app(
        AccessSettings(
            trusted_header="X-Forwarded-Email",
            trusted_roles="ml-team=editor,ml-admins=admin",  # type: ignore[arg-type]
        )
    )
    assert httpx.get(f"{proxied}/api/v1/runs", headers=vouched, timeout=10).status_code == 200
    # The address checked is the connection's: a forwarded-for header does not replace it.
    relayed = {**vouched, "X-Forwarded-For": "203.0.113.5"}
    assert httpx.get(f"{proxied}/api/v1/runs", headers=relayed, timeout=10).status_code == 200
    done = httpx.post(f"{proxied}/api/v1/echo/7", headers=vouched, timeout=10)
    assert done.json() == {
        "item": "7",
        "actor": "ada@example.org",
        "role": "editor",
        "method": "proxy",
    }
    event = audited(access, request_id=done.headers["x-request-id"])
    assert (event.actor, event.role, event.auth_method) == ("ada@example.org", "editor", "proxy")
    assert httpx.get(f"{proxied}/api/v1/tokens", headers=vouched, timeout=10).status_code == 403
    stranger = {"X-Forwarded-Email": "eve@example.org", "X-Forwarded-Groups": "visitors"}
    nobody = httpx.get(f"{proxied}/api/v1/runs", headers=stranger, timeout=10)
    assert nobody.status_code == 403
    assert nobody.json()["error"].startswith("eve@example.org (groups: visitors) has no role")

    elsewhere = access.app(
        AccessSettings(
            trusted_header="X-Forwarded-Email",
            trusted_default_role="admin",
            trusted_proxies="10.0.0.0/8",  # type: ignore[arg-type]
        )
    )
    claimed = {**vouched, "X-Forwarded-For": "10.1.2.3"}  # claiming a trusted address
    spoofed = httpx.get(f"{elsewhere}/api/v1/runs", headers=claimed, timeout=10)
    assert spoofed.status_code == 401
    assert (
        "the X-Forwarded-Email header was ignored: 127.0.0.1 is not in "
        "HEADRACE_API_TRUSTED_PROXIES" in spoofed.json()["error"]
    )
    # A token still works there.
    assert get(f"{elsewhere}/api/v1/runs", access.admin).status_code == 200


def test_with_auth_off_anyone_may_and_writes_are_still_audited(
    access: Access, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="headrace.metadata.access"):
        open_app = access.app(AccessSettings(auth="off"))
    assert "HEADRACE_API_AUTH=off" in caplog.text
    assert httpx.get(f"{open_app}/api/v1/runs", timeout=10).status_code == 200
    caller = httpx.get(f"{open_app}/api/v1/whoami", timeout=10).json()
    assert (caller["actor"], caller["auth_method"]) == ("anonymous", "off")
    assert caller["may_write"] is True
    done = httpx.post(f"{open_app}/api/v1/echo/1", timeout=10)
    assert done.json()["actor"] == "anonymous"
    event = audited(access, request_id=done.headers["x-request-id"])
    assert (event.actor, event.auth_method, event.status) == ("anonymous", "off", 200)


def test_the_admin_token_of_headrace_up_is_recorded_once(access: Access) -> None:
    assert get(f"{access.base}/api/v1/tokens", access.admin).status_code == 200
    made = audited(access, action="token.create", actor="headrace up")
    assert made.target.startswith(f"{ADMIN_NAME} (")
    # Another replica (or the service restarted) with the same token: recorded once.
    settings = access.platform.settings.model_copy(update={"instance_id": "metadata-again"})
    same = AccessSettings(
        admin_token_sha256=token_digest(access.admin), admin_token_name=ADMIN_NAME
    )
    again = access.platform.start(build_metadata(settings, http=HttpSettings(port=0), access=same))
    listed = get(f"{again.endpoints['http']}/tokens", access.admin).json()["tokens"]
    assert [t["name"] for t in listed].count(ADMIN_NAME) == 1
    assert len(access.platform.of(AuditRecorded, action="token.create", actor="headrace up")) == 1
