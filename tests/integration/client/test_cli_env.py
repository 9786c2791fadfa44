"""`headrace env list|prune` as a user types it, answered by the real trainer (running
pipelines through the real scheduler) on a real nats-server; wheels made here, no network.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from client_platform import Platform
from kfp import dsl

from headrace import Client
from headrace.cli import main
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import nats_for_test, service_settings, wait_for
from headrace_testing.wheels import build_wheel


@dsl.component(base_image="python:3.11", packages_to_install=["headrace-test-pkg"])
def greet(name: str) -> str:
    import headrace_test_pkg

    return f"{headrace_test_pkg.VALUE}, {name}"


@dsl.component(
    base_image="python:3.11", packages_to_install=["headrace-test-pkg", "headrace-other-pkg"]
)
def hold(path: str) -> str:
    import os
    import time

    import headrace_other_pkg

    open(path + ".started", "w").close()
    while not os.path.exists(path):
        time.sleep(0.05)
    return headrace_other_pkg.VALUE


@dsl.pipeline(name="greeting")
def greeting(name: str = "you") -> None:
    greet(name=name)


@dsl.pipeline(name="holding")
def holding(path: str) -> None:
    hold(path=path)


@pytest.fixture(scope="module")
def envs_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    from headrace_trainer.app import build as build_trainer
    from headrace_trainer.config import TrainerSettings

    root = tmp_path_factory.mktemp("envs-cli")
    wheels = root / "wheels"
    build_wheel(wheels, "headrace-test-pkg", "1.0", 'VALUE = "hello"\n')
    build_wheel(wheels, "headrace-other-pkg", "2.0", 'VALUE = "held"\n')
    with nats_for_test(root) as server:
        settings = service_settings(root / "home", server.url)
        platform = Platform(settings)
        platform.start(build_scheduler(settings))
        config = TrainerSettings(concurrency=2, find_links=[str(wheels)], offline=True)
        platform.start(build_trainer(settings, trainer=config))
        yield platform
        platform.stop()


def headrace(
    platform: Platform, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = main(["env", *argv, "--nats-url", platform.url])
    out, err = capsys.readouterr()
    return code, out, err


def listed(platform: Platform, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, err = headrace(platform, capsys, "list", "--json")
    assert (code, err) == (0, "")
    found: list[dict[str, object]] = json.loads(out)
    return found


def test_list_and_prune_through_the_trainer(
    envs_platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert headrace(envs_platform, capsys, "list") == (0, "no step environments cached\n", "")

    with Client(nats_url=envs_platform.url, timeout=5.0) as client:
        run = client.wait(client.submit(greeting, {"name": "env"}), timeout=120)
        assert (run.state, run.steps[0].output_parameters) == (
            "SUCCEEDED",
            {"Output": "hello, env"},
        )
        (greeted,) = listed(envs_platform, capsys)
        assert greeted["packages"] == ["headrace-test-pkg"]
        assert greeted["in_use"] is False
        assert isinstance(greeted["size_bytes"], int)
        assert greeted["size_bytes"] > 0
        assert greeted["created_at"]
        assert greeted["last_used_at"]
        assert greeted["path"] == str(envs_platform.settings.home / "envs" / str(greeted["digest"]))

        code, out, _ = headrace(envs_platform, capsys, "list")
        assert code == 0
        header, row = out.splitlines()
        assert header.startswith("DIGEST                SIZE     CREATED")
        assert header.endswith("LAST USED            IN USE  PACKAGES")
        (links,) = greeted["find_links"]  # type: ignore[misc]
        assert row.startswith(f"{greeted['digest']}  28.")
        assert row.endswith(f"  no      headrace-test-pkg (from find-links {links})")

        gate = tmp_path / "gate"
        held_id = client.submit(holding, {"path": str(gate)})
        asyncio.run(wait_for(lambda: Path(str(gate) + ".started").exists(), 60, "the step"))
        envs = {e["digest"]: e for e in listed(envs_platform, capsys)}
        assert len(envs) == 2
        (held,) = [d for d, e in envs.items() if e["in_use"]]
        assert envs[held]["packages"] == ["headrace-other-pkg", "headrace-test-pkg"]

        # a step runs in one: prune removes only the other
        code, out, err = headrace(envs_platform, capsys, "prune")
        assert (code, err) == (0, "")
        assert out.splitlines()[0].startswith(f"removed {greeted['digest']} (headrace-test-pkg)")
        assert f"kept {held}: a running step uses it" in out
        assert out.splitlines()[-1].startswith("removed 1 step environment, freed ")
        assert [e["digest"] for e in listed(envs_platform, capsys)] == [held]

        gate.touch()
        assert client.wait(held_id, timeout=120).state == "SUCCEEDED"

    # recently used: --older-than keeps it; an unknown digest is named
    code, out, err = headrace(envs_platform, capsys, "prune", "--older-than", "1h", "--json")
    assert code == 0
    assert json.loads(out) == {"removed": [], "in_use": [], "unknown": []}
    code, out, err = headrace(envs_platform, capsys, "prune", "feedface")
    assert code == 2
    assert err == (
        "headrace: no single step environment matches 'feedface': list them with "
        "`headrace env list`\n"
    )
    code, out, err = headrace(envs_platform, capsys, "prune", held[:8])
    assert (code, err) == (0, "")
    assert out.startswith(f"removed {held} (headrace-other-pkg, headrace-test-pkg)")
    assert listed(envs_platform, capsys) == []
    assert not (envs_platform.settings.home / "envs" / held).exists()


def test_a_bad_duration_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["env", "prune", "--older-than", "soon"])
    assert exited.value.code == 2
    assert "expected a positive duration such as 90s, 30m, 12h, 7d or 2w, got 'soon'" in (
        capsys.readouterr().err
    )


def test_no_trainer_answers(bare: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["env", "list", "--nats-url", bare.url, "--timeout", "2"])
    assert code == 3
    assert capsys.readouterr().err == (
        f"headrace: no trainer answers on NATS at {bare.url}: start the platform with "
        "`headrace up`\n"
    )
