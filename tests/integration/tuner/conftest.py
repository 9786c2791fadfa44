"""One platform per test module: a real nats-server, a trainer and a tuner process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tuner_support import TRAINER_ENV, ready, service

from headrace import Client
from headrace_testing import BlockingServiceProcess, TestNats, nats_for_test


@dataclass
class Platform:
    nats: TestNats
    home: Path
    trainer: BlockingServiceProcess
    tuner: BlockingServiceProcess
    folder: Path

    def restart_tuner(self) -> None:
        self.tuner = service("tuner", self.home, self.nats.url)
        self.tuner.start()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("tuning")
    home = folder / "home"
    with nats_for_test(folder) as nats:
        trainer = service("trainer", home, nats.url, **TRAINER_ENV)
        tuner = service("tuner", home, nats.url)
        trainer.start()
        tuner.start()
        found = Platform(nats, home, trainer, tuner, folder)
        try:
            yield found
        finally:
            found.tuner.stop()
            trainer.stop()


@pytest.fixture
def client(platform: Platform) -> Iterator[Client]:
    with Client(nats_url=platform.nats.url, timeout=10) as found:
        ready(found)
        yield found
