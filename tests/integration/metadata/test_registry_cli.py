"""``headrace model ...`` as a user types it, answered by the real metadata service on a real
nats-server: register, list, get, versions, promote (and its refusals), archive, resolve."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from registry_platform import Platform

from headrace.cli import main
from headrace_contracts import PromoteModel
from headrace_metadata.app import build as build_metadata
from headrace_testing import nats_for_test, service_settings


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("registry-cli")
    with nats_for_test(root) as nats:
        platform = Platform(service_settings(root / "home", nats.url))
        try:
            platform.start(build_metadata(platform.settings))
            yield platform
        finally:
            platform.stop()


def cli(platform: Platform, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["model", *argv, "--nats-url", platform.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_register_list_get_versions_and_resolve(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(
        platform,
        capsys,
        "register",
        "fraud",
        "file:///models/fraud/1",
        "--metric",
        "accuracy=0.93",
        "--property",
        "layers=3",
        "--property",
        "kind=tree",
        "--label",
        "team=risk",
        "--tag",
        "baseline",
        "--description",
        "first",
    )
    assert (code, out) == (0, "fraud version 1: file:///models/fraud/1\n")
    code, out, _ = cli(platform, capsys, "register", "fraud", "file:///models/fraud/2", "--json")
    assert code == 0
    assert json.loads(out)["version"] == 2

    code, out, _ = cli(platform, capsys, "versions", "fraud", "--json")
    versions = json.loads(out)
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["metrics"] == {"accuracy": 0.93}
    assert versions[1]["metadata"] == {"layers": 3, "kind": "tree"}
    assert (versions[1]["labels"], versions[1]["tags"]) == ({"team": "risk"}, ["baseline"])
    code, out, _ = cli(platform, capsys, "versions", "fraud")
    lines = out.splitlines()
    assert lines[0].split() == ["VERSION", "STATE", "ALIASES", "METRICS", "RUN/STEP", "URI"]
    assert lines[2].split() == ["1", "LIVE", "-", "accuracy=0.93", "-", "file:///models/fraud/1"]

    code, out, _ = cli(platform, capsys, "list")
    assert code == 0
    assert out.splitlines()[1].split()[:4] == ["fraud", "2", "2", "-"]
    code, out, _ = cli(platform, capsys, "get", "fraud", "--json")
    assert json.loads(out)["latest_version"] == 2

    assert cli(platform, capsys, "promote", "fraud", "1", "--alias", "production")[0] == 0
    code, out, _ = cli(platform, capsys, "resolve", "models:/fraud@production")
    assert (code, out) == (0, "file:///models/fraud/1\n")


def test_promote_prints_new_and_previous_version_or_the_refusal(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    for n, accuracy in ((1, "0.9"), (2, "0.97")):
        cli(
            platform,
            capsys,
            "register",
            "churn",
            f"file:///m/churn/{n}",
            "--metric",
            f"accuracy={accuracy}",
        )
    code, out, _ = cli(platform, capsys, "promote", "churn", "1", "--alias", "production")
    assert (code, out) == (0, "churn@production -> version 1 (was no version): file:///m/churn/1\n")
    code, out, _ = cli(
        platform,
        capsys,
        "promote",
        "churn",
        "2",
        "--alias",
        "production",
        "--require",
        "metrics.accuracy >= 0.95",
    )
    assert (code, out) == (0, "churn@production -> version 2 (was version 1): file:///m/churn/2\n")

    code, out, err = cli(
        platform,
        capsys,
        "promote",
        "churn",
        "1",
        "--alias",
        "production",
        "--require",
        "metrics.accuracy >= 0.95",
    )
    assert (code, out) == (2, "")
    assert err == (
        "headrace: promotion of 'churn' version 1 to 'production' rejected: version 1 of "
        "'churn' does not meet 'metrics.accuracy >= 0.95' (its metrics: accuracy=0.9) "
        "(alias 'production' still points at 2)\n"
    )
    code, _, err = cli(platform, capsys, "promote", "nope", "1", "--alias", "production")
    assert code == 2
    assert "no model 'nope' is registered in namespace 'default'" in err

    code, out, err = cli(
        platform,
        capsys,
        "promote",
        "churn",
        "1",
        "--alias",
        "production",
        "--require",
        "metrics.accuracy >=",
    )
    assert (code, out) == (2, "")
    assert err.startswith(
        "headrace: condition 'metrics.accuracy >=' is not valid CEL: at column 20: Syntax error"
    )
    assert not platform.of(PromoteModel, require="metrics.accuracy >=")  # nothing was sent
    code, out, _ = cli(platform, capsys, "resolve", "models:/churn@production")
    assert out == "file:///m/churn/2\n"


def test_archive_and_its_refusal(platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    cli(platform, capsys, "register", "spam", "file:///m/spam/1")
    cli(platform, capsys, "register", "spam", "file:///m/spam/2")
    cli(platform, capsys, "promote", "spam", "2", "--alias", "staging")
    assert cli(platform, capsys, "archive", "spam", "1")[:2] == (0, "spam version 1 archived\n")
    code, _, err = cli(platform, capsys, "archive", "spam", "2")
    assert code == 2
    assert "is what alias staging points at: promote another version to it first" in err
    code, out, _ = cli(platform, capsys, "versions", "spam", "--state", "archived", "--json")
    assert [v["version"] for v in json.loads(out)] == [1]


def test_bad_input_and_no_platform(platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(platform, capsys, "resolve", "models:/spam")
    assert code == 2
    assert "'models:/spam' names no version" in err
    code, _, err = cli(platform, capsys, "register", "spam", "file:///x", "--metric", "acc=high")
    assert (code, err) == (
        2,
        "headrace: --metric acc=high: 'high' is not a number (e.g. acc=0.97)\n",
    )
    code, _, err = cli(platform, capsys, "get", "missing")
    assert (code, err) == (
        2,
        "headrace: no model 'missing' is registered in namespace 'default': list them with "
        "`headrace model list`\n",
    )
    code = main(["model", "list", "--nats-url", "nats://127.0.0.1:1", "--timeout", "1"])
    assert code == 3
    assert "cannot reach NATS at nats://127.0.0.1:1" in capsys.readouterr().err
