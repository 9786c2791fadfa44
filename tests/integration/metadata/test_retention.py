"""Retention on a running platform (scheduler, trainer, metadata on a real nats-server, on
SQLite and, with HEADRACE_TEST_DATABASE_URL, PostgreSQL): real pipelines run, then
``PruneRuns`` (and ``headrace run prune``) removes finished runs by age and by count; a dry
run changes nothing; a running run is never pruned; the lineage and artifacts of a run whose
model was registered stay; store folders go only when asked; the periodic sweep of a second
replica prunes under the database lock."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from registry_platform import Platform
from retention_pipelines import importing, producing, registering, waiting
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from headrace import Client
from headrace.cli import main as cli
from headrace_artifacts import ArtifactStore, open_store
from headrace_contracts import GetLineage, LineageGraph, PruneReport, PruneRuns, RunView
from headrace_contracts.run_views import RUN_FINAL_STATES
from headrace_metadata.app import build as build_metadata
from headrace_metadata.lineage.tables import LineageContext, LineageEvent, LineageExecution
from headrace_metadata.retention import lock
from headrace_metadata.runs import StepRow
from headrace_metadata.runs.specs import PipelineSpecRow, SubmissionRow
from headrace_metadata.store import ArtifactRow
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import database_url_for, nats_for_test, service_settings, wait_for
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp(f"retention-{request.param}")
    url = database_url_for(str(request.param), root)
    with nats_for_test(root) as nats:
        settings = service_settings(root / "home", nats.url, database_url=url)
        platform = Platform(settings)
        try:
            platform.start(build_scheduler(settings))
            platform.start(build_trainer(settings, trainer=TrainerSettings(concurrency=2)))
            platform.start(build_metadata(settings))
            yield platform
        finally:
            platform.stop()


@pytest.fixture
def client(platform: Platform) -> Iterator[Client]:
    with Client(nats_url=platform.url, timeout=10.0) as made:
        yield made


@pytest.fixture(autouse=True)
def no_finished_runs(platform: Platform) -> None:
    """Each test starts with no finished run in the read model (earlier tests' are pruned)."""
    assert not prune(platform, keep=0).error


def prune(platform: Platform, **asked: object) -> PruneReport:
    reply = platform.run(platform.bus.request(PruneRuns.model_validate(asked), timeout=30))
    assert isinstance(reply, PruneReport)
    return reply


def engine(platform: Platform) -> Engine:
    metadata = platform.services[2].engine
    assert metadata is not None
    return metadata


def store(platform: Platform) -> ArtifactStore:
    s = platform.settings
    return open_store(s.artifacts_root(), **s.s3_options())


def rows(platform: Platform, table: type[SQLModel], run_id: str) -> int:
    run_col = col(LineageContext.name) if table is LineageContext else col(table.run_id)  # type: ignore[attr-defined]
    with Session(engine(platform)) as session:
        return int(
            session.exec(select(func.count()).select_from(table).where(run_col == run_id)).one()
        )


def lineage(platform: Platform, **asked: object) -> LineageGraph:
    reply = platform.run(platform.bus.request(GetLineage.model_validate(asked), timeout=10))
    assert isinstance(reply, LineageGraph)
    return reply


def listed(client: Client, tag: str) -> list[RunView]:
    return list(client.list_runs(labels={"test": tag}, limit=100).runs)


def settled(client: Client, tag: str, count: int) -> list[RunView]:
    """The ``count`` runs labelled ``tag`` once the read model has them all finished."""

    def done() -> bool:
        found = listed(client, tag)
        return len(found) == count and all(r.state in RUN_FINAL_STATES for r in found)

    asyncio.run(wait_for(done, 120, f"{count} finished runs labelled {tag}"))
    return sorted(listed(client, tag), key=lambda r: r.finished_at)


def when(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def run_producing(client: Client, tag: str) -> str:
    run_id = client.submit(producing, enable_caching=False, labels={"test": tag})
    assert client.wait(run_id, timeout=120).state == "SUCCEEDED"
    return run_id


def trace(platform: Platform, run_id: str) -> tuple[int, int, int, int]:
    return (
        rows(platform, StepRow, run_id),
        rows(platform, LineageExecution, run_id),
        rows(platform, LineageEvent, run_id),
        rows(platform, ArtifactRow, run_id),
    )


def test_a_dry_run_reports_and_changes_nothing_then_keep_removes_all_but_the_newest(
    client: Client, platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    made = [run_producing(client, "count") for _ in range(3)]
    first, second, newest = (r.run_id for r in settled(client, "count", 3))
    assert [first, second, newest] == made
    before = {r: trace(platform, r) for r in made}
    assert all(all(n > 0 for n in counts) for counts in before.values()), before

    code = cli(["run", "prune", "--nats-url", platform.url, "--keep", "1", "--dry-run", "--json"])
    assert code == 0
    dry = PruneReport.model_validate(json.loads(capsys.readouterr().out))
    assert (dry.dry_run, dry.runs, dry.kept_lineage) == (True, [first, second], [])
    assert (dry.run_rows, dry.step_rows) == (2, before[first][0] + before[second][0])
    assert dry.lineage_executions == before[first][1] + before[second][1]
    assert dry.artifact_rows == before[first][3] + before[second][3]
    assert {r.run_id for r in listed(client, "count")} == set(made)
    assert {r: trace(platform, r) for r in made} == before

    code = cli(["run", "prune", "--nats-url", platform.url, "--keep", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"removed 2 finished runs\n  {first}\n  {second}\n"), out
    assert [r.run_id for r in listed(client, "count")] == [newest]
    assert trace(platform, first) == trace(platform, second) == (0, 0, 0, 0)
    assert trace(platform, newest) == before[newest]
    assert rows(platform, LineageContext, first) == 0
    # the runs' submissions go; the pipeline stays while the newest run was submitted with it
    assert (rows(platform, SubmissionRow, first), rows(platform, SubmissionRow, newest)) == (0, 1)
    with Session(engine(platform)) as session:
        assert session.exec(select(func.count()).select_from(PipelineSpecRow)).one() >= 1
    graph = lineage(platform, run_id=first)
    assert graph.error.startswith("no run"), graph.error
    assert store(platform).exists(f"runs/{first}"), "artifacts go only when asked"


def test_by_age_removes_only_older_runs_and_their_artifacts_when_asked(
    client: Client, platform: Platform
) -> None:
    old = run_producing(client, "age")
    [old_view] = settled(client, "age", 1)
    old_finished = when(old_view.finished_at)
    while datetime.now(UTC) < old_finished + timedelta(seconds=2):
        time.sleep(0.05)  # no event to await: the clock must move on, runs end 2 s apart
    new = run_producing(client, "age")
    _, new_view = settled(client, "age", 2)
    new_finished = when(new_view.finished_at)
    middle = old_finished + (new_finished - old_finished) / 2
    assert store(platform).exists(f"runs/{old}")
    assert store(platform).exists(f"runs/{new}")

    age = (datetime.now(UTC) - middle).total_seconds()
    report = prune(platform, older_than_seconds=age, delete_artifacts=True)
    assert (report.runs, report.stored_artifacts_deleted, report.error) == ([old], 1, "")
    assert [r.run_id for r in listed(client, "age")] == [new]
    assert not store(platform).exists(f"runs/{old}")
    assert store(platform).exists(f"runs/{new}")
    assert trace(platform, old) == (0, 0, 0, 0)


def test_a_running_run_is_never_pruned(client: Client, platform: Platform, tmp_path: Path) -> None:
    gate = tmp_path / "open"
    running = client.submit(waiting, {"path": str(gate)}, labels={"test": "running"})

    def is_running() -> bool:
        return [r.state for r in listed(client, "running")] == ["RUNNING"]

    asyncio.run(wait_for(is_running, 60, "the waiting run to run"))
    report = prune(platform, keep=0, older_than_seconds=0.001, delete_artifacts=True)
    assert (report.runs, report.error) == ([], "")
    assert [r.run_id for r in listed(client, "running")] == [running]

    gate.write_text("go")
    assert client.wait(running, timeout=60).state == "SUCCEEDED"
    settled(client, "running", 1)
    assert prune(platform, keep=0).runs == [running]


def test_a_run_whose_model_was_registered_keeps_its_lineage_and_artifacts(
    client: Client, platform: Platform
) -> None:
    run_id = client.submit(registering, labels={"test": "model"})
    assert client.wait(run_id, timeout=120).state == "SUCCEEDED"

    def registered() -> bool:
        try:
            return client.get_model_version("models:/kept-by-retention/1").run_id == run_id
        except LookupError:
            return False

    asyncio.run(wait_for(registered, 30, "the registered version"))
    settled(client, "model", 1)
    uri = client.get_model_version("models:/kept-by-retention/1").uri
    before = lineage(platform, uri=uri, direction="upstream")
    assert {n.name for n in before.nodes} >= {"make-data", "fit", "data", "model"}, before
    executions = rows(platform, LineageExecution, run_id)

    report = prune(platform, keep=0, delete_artifacts=True)
    assert (report.runs, report.kept_lineage) == ([run_id], [run_id])
    assert (report.run_rows, report.lineage_executions, report.lineage_events) == (1, 0, 0)
    assert report.stored_artifacts_deleted == 0
    assert listed(client, "model") == []
    after = lineage(platform, uri=uri, direction="upstream")
    assert (after.nodes, after.edges) == (before.nodes, before.edges)
    assert rows(platform, LineageExecution, run_id) == executions
    assert store(platform).exists(f"runs/{run_id}")
    assert client.resolve_model("models:/kept-by-retention/1") == uri
    assert prune(platform, keep=0).runs == [], "its read model rows are gone; nothing is left"


def test_an_artifact_another_run_still_reads_stays_with_its_folder(
    client: Client, platform: Platform
) -> None:
    producer = run_producing(client, "shared")
    settled(client, "shared", 1)
    made = next(s for s in client.get(producer).steps if s.step_id == "make-data")
    [data] = made.output_artifacts["data"]
    reader = client.submit(importing, {"uri": data.uri}, labels={"test": "shared"})
    assert client.wait(reader, timeout=120).state == "SUCCEEDED"
    settled(client, "shared", 2)

    report = prune(platform, keep=1, delete_artifacts=True)
    assert (report.runs, report.kept_lineage) == ([producer], [])
    assert report.stored_artifacts_deleted == 0, "the reader still refers to its dataset"
    assert report.lineage_executions == 2
    assert store(platform).exists(f"runs/{producer}")
    graph = lineage(platform, run_id=reader, direction="upstream")
    assert data.uri in {n.uri for n in graph.nodes}, graph
    assert trace(platform, producer)[:2] == (0, 0)


def test_another_replica_sweeps_periodically_under_the_lock(
    client: Client, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_producing(client, "sweep")
    run_id = run_producing(client, "sweep")
    settled(client, "sweep", 2)
    assert lock.acquire(engine(platform), "someone-else", 600)
    monkeypatch.setenv("HEADRACE_METADATA_RETAIN_RUNS", "0")
    monkeypatch.setenv("HEADRACE_METADATA_RETAIN_BATCH", "1")
    monkeypatch.setenv("HEADRACE_METADATA_RETAIN_INTERVAL_SECONDS", "0.2")
    replica = platform.start(
        build_metadata(platform.settings.model_copy(update={"instance_id": "metadata-sweeper"}))
    )
    try:
        asked = prune(platform, keep=0)
        assert asked.error.startswith("another metadata replica is pruning runs right now")
        assert {r.run_id for r in listed(client, "sweep")} == {first, run_id}
        lock.release(engine(platform), "someone-else")
        asyncio.run(wait_for(lambda: listed(client, "sweep") == [], 30, "the sweep"))
        assert trace(platform, first) == trace(platform, run_id) == (0, 0, 0, 0)
    finally:
        platform.run(replica.stop())
        platform.services.remove(replica)
