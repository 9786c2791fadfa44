"""Fixtures of the dashboard's browser tests: one real platform per module (nats-server,
scheduler, trainer, tuner, and the metadata service serving the API and the dashboard on a free
port), Debian's chromium driven by Playwright, and a folder for screenshots.

Without chromium every test here is skipped, and the run's summary says so plainly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_chromium import chromium, why_skipped
from browser_platform import Platform

from headrace_contracts.access import new_token_secret, token_digest
from headrace_metadata.api import HttpSettings
from headrace_metadata.api.access import AccessSettings
from headrace_metadata.app import build as build_metadata
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import nats_for_test, service_settings
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings
from headrace_tuner.app import build as build_tuner

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "dashboard"
_skipped: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if chromium() is not None:
        return
    here = Path(__file__).parent
    mine = [
        item
        for item in items
        if here in Path(str(item.fspath)).parents and "browser" in getattr(item, "fixturenames", ())
    ]
    if mine:
        reason = why_skipped()
        _skipped.append(reason)
        for item in mine:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(_skipped[0], yellow=True, bold=True)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("dashboard")
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url)
        running = Platform(nats.url, token=new_token_secret())
        try:
            running.start(build_scheduler(settings))
            running.start(build_trainer(settings, trainer=TrainerSettings(concurrency=4)))
            running.start(build_tuner(settings))
            # Access as `headrace up` sets it: tokens required, an admin token recorded.
            access = AccessSettings(admin_token_sha256=token_digest(running.token))
            running.metadata = running.start(
                build_metadata(settings, http=HttpSettings(port=0), access=access)
            )
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def browser(platform: Platform) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium()
    assert path is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where this test saves its screenshots (test-artifacts/dashboard/<test>/, ignored by
    git, kept after the run for a person or CI to look at)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
