"""``headrace-metadata --rebuild`` replays the stream into a fresh store equal to the live one
(live store on SQLite, and on PostgreSQL when HEADRACE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from lineage_events import Store, feed, run_events
from lineage_pipeline import churn, metadata_service, wait_recorded
from pipeline_harness import Platform
from sqlmodel import Session

from headrace_metadata.lineage.dump import dump
from headrace_metadata.lineage.rebuild import rebuild_into
from headrace_metadata.lineage.replay import ReplayError
from headrace_runtime import Settings
from headrace_runtime.database import build_engine
from headrace_testing import TestNats


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    return settings_on_each_database


async def test_the_rebuilt_store_equals_the_live_one(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,1\nb,2\n")
    first = await platform.run(churn, {"data": data.as_uri()})
    assert first.state == "SUCCEEDED", first.error
    second = await platform.run(churn, {"data": data.as_uri()}, enable_caching=False)
    assert second.state == "SUCCEEDED", second.error
    failed = await platform.run(churn, {"data": (tmp_path / "missing.csv").as_uri()})
    assert failed.state == "REJECTED"
    service = metadata_service(platform.services)
    for run in (first, second):
        await wait_recorded(service, run.run_id)
    await wait_recorded(service, failed.run_id, "REJECTED")
    assert service.engine is not None
    with Session(service.engine) as session:
        live = dump(session)
    assert len(live["lineage_executions"]) == 4
    assert len(live["lineage_events"]) == 8

    # into another database, through the service's own entrypoint
    rebuilt_url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    env = {
        **os.environ,
        "HEADRACE_HOME": str(settings.home),
        "HEADRACE_NATS_URL": settings.nats_url,
        "HEADRACE_METADATA_DATABASE_URL": rebuilt_url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from headrace_metadata.app import main; main(['--rebuild'])",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith("lineage rebuilt from ")
    engine = build_engine(rebuilt_url, "metadata")
    try:
        with Session(engine) as session:
            assert dump(session) == live
        # a second rebuild starts from empty tables again: still equal, nothing doubled
        await rebuild_into(engine, settings.nats_url, "HEADRACE")
        with Session(engine) as session:
            assert dump(session) == live
    finally:
        engine.dispose()
    if settings.database_url:  # PostgreSQL: rebuilt there too, in a schema of its own
        engine = build_engine(settings.database_url, "metadata_rebuilt")
        try:
            await rebuild_into(engine, settings.nats_url, "HEADRACE")
            with Session(engine) as session:
                assert dump(session) == live
        finally:
            engine.dispose()


async def test_a_stream_that_cannot_be_read_leaves_the_store_as_it_was(
    store: Store, nats_server: TestNats
) -> None:
    engine = store("kept")
    before = feed(engine, run_events())
    with pytest.raises(ReplayError) as missing:
        await rebuild_into(engine, nats_server.url, "NOSUCH")
    assert str(missing.value) == (
        f"NATS at {nats_server.url} has no stream NOSUCH: nothing was ever published there; "
        "check HEADRACE_NATS_URL"
    )
    with pytest.raises(ReplayError) as unreachable:
        await rebuild_into(engine, "nats://127.0.0.1:1", "HEADRACE")
    assert str(unreachable.value).startswith("cannot reach NATS at nats://127.0.0.1:1 (")
    assert str(unreachable.value).endswith(
        "): start the platform's NATS server, or point HEADRACE_NATS_URL at it"
    )
    with Session(engine) as session:
        assert dump(session) == before
