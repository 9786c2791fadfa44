"""Per-step Python environments: ``packages_to_install`` installed with uv from a local
find-links folder of wheels made here (no network), built once, reused, failing clearly.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import asyncio
import importlib.util
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import uv
from kfp import dsl
from trainer_support import Recorder, step_ready

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import CancelStep, StepCancelled, StepFailed, StepSucceeded
from headrace_runtime import Service, Settings
from headrace_testing import wait_for
from headrace_testing.wheels import build_wheel
from headrace_trainer.envs import (
    BuildOptions,
    StepEnvironments,
    StepRequirements,
    platform_site_dirs,
)

Trainer = Callable[..., Awaitable[Service]]


@dsl.component(base_image="python:3.11", packages_to_install=["headrace-test-pkg"])
def uses_package(x: int) -> str:
    import headrace_test_pkg

    return f"{headrace_test_pkg.VALUE} {x}"


@dsl.component(
    base_image="python:3.11", packages_to_install=["headrace-test-pkg", "tabulate==99.0"]
)
def shadows_platform(x: int) -> str:
    import headrace_test_pkg
    import tabulate

    return f"{headrace_test_pkg.VALUE} tabulate {tabulate.__version__}"


@dsl.component(base_image="python:3.11", packages_to_install=["nopkg-xyz"])
def needs_missing(x: int) -> int:
    return x


@dsl.component(base_image="python:3.11", packages_to_install=["headrace-test-pkg"])
def imports_another_module(x: int) -> int:
    import headrace_other_module  # noqa: F401  (not what headrace-test-pkg provides)

    return x


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    build_wheel(folder, "headrace-test-pkg", "1.0", 'VALUE = "from the test wheel"\n')
    # a platform package (tabulate is in the platform's environment) at a version only here
    build_wheel(folder, "tabulate", "99.0", '__version__ = "99.0"\n')
    return folder


@pytest.fixture
async def started(trainer: Trainer, wheels: Path) -> Service:
    return await trainer(find_links=[str(wheels)], offline=True)


def environments(settings: Settings) -> dict[str, dict[str, object]]:
    root = settings.home / "envs"
    found = {}
    for record in root.glob("*/headrace-env.json"):
        found[record.parent.name] = json.loads(record.read_text())
    return found


def step_log(store: FileStore, done: StepSucceeded) -> str:
    return store.open_read(store.key_for(done.log_uri)).read().decode()


@pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "subprocess"])
async def test_a_component_imports_the_package_it_asks_for(
    trainer: Trainer,
    wheels: Path,
    fork_server: bool,
    caplog: pytest.LogCaptureFixture,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.INFO, "headrace.trainer")
    await trainer(find_links=[str(wheels)], offline=True, fork_server=fork_server)
    assert importlib.util.find_spec("headrace_test_pkg") is None  # not in the platform
    step = step_ready(uses_package, store, tmp_path, parameters={"x": 3})
    await client.publish(step)
    done = await recorder.first(StepSucceeded, step.step_id, timeout=60)
    assert done.output_parameters == {"Output": "from the test wheel 3"}
    (digest,) = environments(settings)
    assert environments(settings)[digest]["packages"] == ["headrace-test-pkg"]
    assert f"headrace: step environment {digest} (headrace-test-pkg): built in" in step_log(
        store, done
    )
    assert [p.name for p in (settings.home / "envs").iterdir() if p.name.startswith(".b")] == []
    # with a fork server, the environment's own served the step (no fallback was needed)
    assert "building step environment" in caplog.text
    assert "fork server" not in caplog.text


async def test_one_build_for_concurrent_steps_then_reuse_and_a_new_set_gets_its_own(
    trainer: Trainer,
    wheels: Path,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await trainer(find_links=[str(wheels)], offline=True, concurrency=4)
    first = [
        step_ready(uses_package, store, tmp_path, step_id=f"root/use-{n}", parameters={"x": n})
        for n in range(2)
    ]
    await asyncio.gather(*(client.publish(step) for step in first))
    done = [await recorder.first(StepSucceeded, step.step_id, timeout=60) for step in first]
    assert [d.output_parameters["Output"] for d in done] == [
        "from the test wheel 0",
        "from the test wheel 1",
    ]
    logs = [step_log(store, d) for d in done]
    assert sum(": built in" in log for log in logs) == 1
    assert sum(": reused" in log for log in logs) == 1
    (digest,) = environments(settings)
    created = environments(settings)[digest]["created_at"]

    later = step_ready(uses_package, store, tmp_path, step_id="root/later", parameters={"x": 9})
    await client.publish(later)
    again = await recorder.first(StepSucceeded, later.step_id, timeout=60)
    assert again.output_parameters == {"Output": "from the test wheel 9"}
    assert f"step environment {digest} (headrace-test-pkg): reused" in step_log(store, again)
    assert environments(settings)[digest]["created_at"] == created

    other = step_ready(shadows_platform, store, tmp_path, parameters={"x": 1})
    await client.publish(other)
    shadowed = await recorder.first(StepSucceeded, other.step_id, timeout=60)
    # the environment's own packages win over the platform's
    assert shadowed.output_parameters == {"Output": "from the test wheel tabulate 99.0"}
    found = environments(settings)
    assert len(found) == 2
    (new,) = set(found) - {digest}
    assert found[new]["packages"] == ["headrace-test-pkg", "tabulate==99.0"]


async def test_a_package_that_does_not_exist_fails_the_step_naming_it(
    started: Service,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    step = step_ready(needs_missing, store, tmp_path, parameters={"x": 1})
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id, timeout=60)
    assert failed.reason.startswith(
        "step 'needs-missing': could not install packages ['nopkg-xyz']: "
    )
    assert "nopkg-xyz was not found" in failed.reason
    assert failed.reason.endswith(": check the name and version, or the index")
    assert environments(settings) == {}
    assert [p.name for p in (settings.home / "envs").iterdir() if p.name != ".locks"] == []


async def test_a_module_the_installed_packages_do_not_provide_is_named_with_a_hint(
    started: Service, client: Bus, recorder: Recorder, store: FileStore, tmp_path: Path
) -> None:
    step = step_ready(imports_another_module, store, tmp_path, parameters={"x": 1})
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id, timeout=60)
    assert "No module named 'headrace_other_module'" in failed.stderr_tail
    assert failed.reason == (
        "step 'imports-another-module' exited with code 1: ModuleNotFoundError: No module "
        "named 'headrace_other_module' (the component asks for packages "
        "headrace-test-pkg: check that they provide the missing module, and that the trainer "
        "installs them: HEADRACE_TRAINER_STEP_ENVIRONMENTS must not be off)"
    )


class SilentIndex:
    """An HTTP 'index' that accepts connections and never answers."""

    def __init__(self, url: str, held: list[asyncio.StreamWriter]) -> None:
        self.url = url
        self.held = held


@pytest.fixture
async def silent_index() -> AsyncIterator[SilentIndex]:
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield SilentIndex(f"http://127.0.0.1:{port}/simple", held)
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


def from_index(url: str) -> Any:
    @dsl.component(
        base_image="python:3.11", packages_to_install=["headrace-test-pkg"], pip_index_urls=[url]
    )
    def from_silent_index(x: int) -> int:
        return x

    return from_silent_index


async def test_an_index_that_does_not_answer_fails_the_step_within_its_timeout(
    trainer: Trainer,
    silent_index: SilentIndex,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    tmp_path: Path,
) -> None:
    await trainer()
    component = from_index(silent_index.url)
    step = step_ready(component, store, tmp_path, parameters={"x": 1}, timeout_seconds=3)
    begun = time.monotonic()
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id, timeout=30)
    assert time.monotonic() - begun < 3 + 5
    assert failed.reason.startswith(
        "step 'from-silent-index': could not install packages ['headrace-test-pkg'] within 3 s: "
        f"the package index {silent_index.url} did not answer in time"
    )
    assert failed.reason.endswith("or raise the step's timeout")


async def test_uv_giving_up_on_a_silent_index_names_the_url_too(
    trainer: Trainer,
    silent_index: SilentIndex,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    tmp_path: Path,
) -> None:
    await trainer(install_http_timeout_seconds=1, install_http_retries=0)
    component = from_index(silent_index.url)
    step = step_ready(component, store, tmp_path, parameters={"x": 1}, timeout_seconds=60)
    await client.publish(step)
    failed = await recorder.first(StepFailed, step.step_id, timeout=30)
    assert failed.reason.startswith(
        "step 'from-silent-index': could not install packages ['headrace-test-pkg']: "
        f"the package index {silent_index.url} did not answer in time (uv said: "
    )
    assert "operation timed out" in failed.reason
    assert failed.reason.endswith("or raise HEADRACE_TRAINER_INSTALL_HTTP_TIMEOUT_SECONDS")


async def test_a_step_cancelled_while_its_packages_install_ends_cancelled(
    trainer: Trainer,
    silent_index: SilentIndex,
    client: Bus,
    recorder: Recorder,
    store: FileStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    await trainer()
    step = step_ready(from_index(silent_index.url), store, tmp_path, parameters={"x": 1})
    await client.publish(step)
    await wait_for(lambda: bool(silent_index.held), 30, "uv to ask the index")
    await client.publish(CancelStep(run_id=step.run_id, step_id=step.step_id, reason="user"))
    cancelled = await recorder.first(StepCancelled, step.step_id, timeout=10)
    assert cancelled.reason == "user"
    assert recorder.of(StepFailed, step.step_id) == []
    await wait_for(
        lambda: [p.name for p in (settings.home / "envs").iterdir() if p.name != ".locks"] == [],
        10,
        "the half-built environment to be removed",
    )


async def test_replicas_sharing_a_home_build_an_environment_once(
    wheels: Path, tmp_path: Path
) -> None:
    """Two replicas (two managers on one home) and three steps each, all at once."""
    root = tmp_path / "home" / "envs"
    options = BuildOptions(
        uv=uv.find_uv_bin(),
        base_site=platform_site_dirs(),
        find_links=(str(wheels),),
        offline=True,
    )
    replicas = [StepEnvironments(root, options, fork_server=False) for _ in range(2)]
    wanted = StepRequirements(("headrace-test-pkg",))
    digest = replicas[0].digest(wanted)
    (root / f".build-{digest}-deadbeef").mkdir(parents=True)  # a crashed build's leftovers

    async def use(replica: StepEnvironments) -> None:
        lease = await replica.acquire(wanted, 60)
        lease.release.close()

    await asyncio.gather(*(use(replica) for replica in replicas for _ in range(3)))
    assert sum(replica.builds for replica in replicas) == 1
    assert sorted(p.name for p in root.iterdir()) == [".locks", digest]
    python = root / digest / "bin" / "python"
    process = await asyncio.create_subprocess_exec(
        str(python),
        "-c",
        "import headrace_test_pkg, kfp, headrace_trainer; print(headrace_test_pkg.VALUE)",
        stdout=asyncio.subprocess.PIPE,
        env={"_KFP_RUNTIME": "true"},  # kfp's light import, as in a step
    )
    out, _ = await process.communicate()
    assert out.decode().strip() == "from the test wheel"
    for replica in replicas:
        await replica.close()
