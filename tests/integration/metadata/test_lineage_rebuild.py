"""``headrace-metadata --rebuild`` replays the stream into a fresh store equal to the live one
(live store on SQLite, and on PostgreSQL when HEADRACE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from lineage_pipeline import churn, metadata_service, wait_recorded
from pipeline_harness import Platform
from sqlmodel import Session

from headrace_metadata.lineage.dump import dump
from headrace_metadata.lineage.rebuild import rebuild_into
from headrace_runtime import Settings
from headrace_runtime.database import build_engine


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
