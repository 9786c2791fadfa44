"""``headrace token`` without a platform: its arguments, and the local admin token that
``headrace up`` keeps in the home folder for the dashboard's login URL."""

from __future__ import annotations

import argparse
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from headrace import DashboardUnavailable, dashboard_login_url
from headrace.cli import build_parser
from headrace.dashboard_access import admin_token_env, admin_token_file, ensure_admin_token
from headrace.home import Home
from headrace.token_args import ROLES, parse_duration
from headrace_contracts.access import ROLES as CONTRACT_ROLES
from headrace_contracts.access import token_digest


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
        ("3600s", timedelta(seconds=3600)),
        (" 1D ", timedelta(days=1)),
    ],
)
def test_durations(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize("text", ["", "0d", "-1h", "1.5h", "1y", "h", "forever"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="such as 90m, 12h, 30d or 2w"):
        parse_duration(text)


def test_the_cli_knows_the_contracts_roles() -> None:
    assert ROLES == CONTRACT_ROLES
    argv = ["token", "create", "ci", "--role", "editor", "--expires", "1h"]
    args = build_parser().parse_args(argv)
    assert (args.name, args.role, args.expires) == ("ci", "editor", timedelta(hours=1))
    args = build_parser().parse_args(["token", "revoke", "ci"])
    assert args.token == "ci"
    assert build_parser().parse_args(["token", "list", "--all"]).all is True


def test_the_admin_token_file_is_private_and_reused(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    secret = ensure_admin_token(home)
    path = admin_token_file(home)
    assert path == home.root / "api-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == secret + "\n"
    assert secret.startswith("hrt_")
    assert ensure_admin_token(home) == secret
    env = admin_token_env(home)
    assert env["HEADRACE_API_ADMIN_TOKEN_SHA256"] == token_digest(secret)
    assert env["HEADRACE_API_ADMIN_TOKEN_NAME"].startswith("local-admin-")

    path.chmod(0o644)  # loosened by hand: tightened again, same secret
    assert ensure_admin_token(home) == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("")  # emptied: a new one
    fresh = ensure_admin_token(home)
    assert fresh.startswith("hrt_")
    assert fresh != secret


def test_no_login_url_without_a_running_platform(tmp_path: Path) -> None:
    with pytest.raises(DashboardUnavailable, match=r"no platform is running in .*headrace up"):
        dashboard_login_url(tmp_path / "home")
