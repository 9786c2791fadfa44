"""One platform per test module: a real nats-server, a trainer and a tuner process. The
tuner's database is PostgreSQL when ``HEADRACE_TEST_DATABASE_URL`` is set, else SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tuner_support import TRAINER_ENV, Platform, ready, service

from headrace import Client
from headrace_testing import nats_for_test
from headrace_testing.database import postgres_url, reset_postgres


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("tuning")
    home = folder / "home"
    database_url = postgres_url()
    if database_url is not None:
        reset_postgres(database_url)
    with nats_for_test(folder) as nats:
        trainer = service("trainer", home, nats.url, **TRAINER_ENV)
        tuner = service("tuner", home, nats.url, database_url)
        trainer.start()
        tuner.start()
        found = Platform(nats, home, trainer, tuner, folder, database_url)
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
