"""A registry command the bus gives up on is still answered: a promotion whose alias cannot be
written (the database stays locked) ends as PromotionRejected with the error, so the client
says why instead of timing out. Real nats-server, real SQLite; the fault is raised inside the
database driver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_platform import Platform

from headrace import Client
from headrace.model_errors import PromotionRejectedError
from headrace_contracts import PromotionRejected
from headrace_metadata.app import build as build_metadata
from headrace_testing import nats_for_test, service_settings, wait_for
from headrace_testing.faults import StoreFault


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with nats_for_test(tmp_path) as nats:
        settings = service_settings(tmp_path / "home", nats.url, max_deliver=2)
        platform = Platform(settings)
        try:
            platform.start(build_metadata(settings))
            yield platform
        finally:
            platform.stop()


def test_a_promotion_the_bus_gives_up_on_is_rejected_with_the_error(platform: Platform) -> None:
    (service,) = platform.services
    assert service.engine is not None
    with Client(nats_url=platform.url, timeout=10.0) as client:
        client.register_model("iris", "file:///models/iris/1", metrics={"accuracy": 0.97})
        fault = StoreFault(service.engine, statement="INSERT INTO registry_aliases")
        try:
            with pytest.raises(PromotionRejectedError) as caught:
                client.promote_model("iris", 1, "production")
        finally:
            fault.remove()
        assert caught.value.reason.startswith(
            "the registry could not decide the promotion: failed 2 deliveries; last error "
            "OperationalError: "
        )
        assert "database is locked" in caught.value.reason
        assert 2 <= fault.hits <= 3  # the first delivery may also have been tried in a batch
        assert client.get_model("iris").aliases == {}
        # the registry works again once the database does
        assert client.promote_model("iris", 1, "production").version == 1
    asyncio.run(wait_for(lambda: bool(platform.of(PromotionRejected, model_name="iris")), 30))
    assert len(platform.of(PromotionRejected, model_name="iris")) == 1
