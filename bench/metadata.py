"""The metadata service at scale: ingest rate and query latency over 100,000 runs.

Loads ``--runs`` runs of 5 steps each, as the platform publishes them, into a real
nats-server, then starts the real metadata service on that backlog and times it to the end
(every event through the service's own consumer and handlers, batched by the runtime:
no bulk SQL). Every ``--lineage-every``-th run (default every 5th: 20,000 runs, 100,000
artifacts) reads and writes artifacts: its first step reads the previous such run's model,
and each later step reads what the step before it wrote, so lineage is a long chain across
runs. A model version is registered for every 50th lineage run and the ``production`` alias
of each of 100 models moved to it.

Then, against the loaded store, p50/p95 of (each ``--queries`` times):

    runs page      ListRuns: 50 runs with a given state, newest first (bus query), and
                   the next page by its page token
    run + steps    GET /api/v1/runs/{id} on the service's HTTP API
    lineage 5 hops GetLineage upstream of a run's last model, hops=5 (bus query)
    alias          ResolveModel models:/NAME@production (bus query)

Targets (issue 8): p95 under 50 ms for each query on both databases; ingest above 2,000
events per second.

    .venv/bin/python bench/metadata.py [--runs 100000] [--postgres URL] [--sqlite] [--json]

With neither ``--sqlite`` nor ``--postgres`` it runs on SQLite; the same published backlog
is replayed into each database given. PostgreSQL is analysed before the queries when the
server's autovacuum is off (as on the development machine), as autovacuum would have; and
every 30 s during ingest, for the same reason.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from nats.js.errors import NotFoundError

from headrace.natsserver import NatsServer
from headrace_bus import Bus, BusConfig
from headrace_contracts import (
    ArtifactRef,
    GetLineage,
    ListRuns,
    Message,
    PromoteModel,
    RegisterModel,
    ResolveModel,
    RunFailed,
    RunStarted,
    RunSucceeded,
    StepInputs,
    StepReady,
    StepSucceeded,
    SubmitRun,
)
from headrace_contracts.access import new_token_secret, token_digest
from headrace_metadata.api import AccessSettings, HttpSettings
from headrace_metadata.app import build
from headrace_runtime import Service, Settings

STEPS = ("load", "clean", "features", "train", "evaluate")
MODELS = 100
REGISTER_EVERY = 50
TOKEN = new_token_secret()  # the HTTP API's admin token, as `headrace up` makes one
ACCESS = AccessSettings(admin_token_sha256=token_digest(TOKEN))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_events(index: int, lineage: bool, upstream: str) -> Iterator[Message]:
    """One run's events; with ``lineage``, its steps' artifacts chained from ``upstream``."""
    run_id = f"run-{index:06d}"
    failed = index % 10 == 7
    yield SubmitRun(
        run_id=run_id,
        pipeline_spec={},
        display_name=f"nightly {index}",
        experiment=f"exp-{index % 20}",
        arguments={"lr": 0.01 * (index % 7 + 1)},
        labels={"team": f"team-{index % 4}"},
    )
    yield RunStarted(run_id=run_id, pipeline_name=f"pipe-{index % 10}", step_count=len(STEPS))
    previous = upstream
    for number, step in enumerate(STEPS):
        step_id = f"root/{step}"
        inputs = StepInputs()
        if lineage and previous:
            inputs = StepInputs(artifacts={"input": [ArtifactRef(uri=previous, name="input")]})
        yield StepReady(
            run_id=run_id,
            step_id=step_id,
            task_name=step,
            executor={"container": {"image": "python:3.11"}},
            inputs=inputs,
            pipeline_name=f"pipe-{index % 10}",
        )
        if failed and number == len(STEPS) - 1:
            break
        outputs: dict[str, list[ArtifactRef]] = {}
        if lineage:
            uri = f"s3://bench/{run_id}/{step}/out"
            kind = "system.Model" if step == "train" else "system.Dataset"
            outputs = {"out": [ArtifactRef(uri=uri, name="out", schema_title=kind, size=1024)]}
            previous = uri
        yield StepSucceeded(
            run_id=run_id,
            step_id=step_id,
            output_artifacts=outputs,
            duration_seconds=1.0 + number,
        )
    if failed:
        yield RunFailed(run_id=run_id, reason="evaluate failed")
    else:
        yield RunSucceeded(run_id=run_id)


def workload(runs: int, lineage_every: int) -> tuple[list[Message], dict[str, Any]]:
    messages: list[Message] = []
    last = ""
    chain_ends: list[tuple[str, str]] = []
    registered = 0
    for index in range(runs):
        lineage = index % lineage_every == 0
        messages.extend(run_events(index, lineage, last))
        if lineage:
            run_id = f"run-{index:06d}"
            last = f"s3://bench/{run_id}/{STEPS[-1]}/out"
            chain_ends.append((run_id, last))
            if len(chain_ends) % REGISTER_EVERY == 0:
                name = f"model-{registered % MODELS}"
                registered += 1
                version = (registered - 1) // MODELS + 1
                messages.append(
                    RegisterModel(
                        model_name=name,
                        uri=f"s3://bench/{run_id}/train/out",
                        run_id=run_id,
                        step_id="root/train",
                        metrics={"accuracy": 0.9},
                    )
                )
                messages.append(PromoteModel(model_name=name, version=version))
    facts = {
        "runs": runs,
        "artifacts": sum(
            1 for m in messages if isinstance(m, StepSucceeded) and m.output_artifacts
        ),
        "models": min(registered, MODELS),
        "model_versions": registered,
        "chain_ends": chain_ends,
    }
    return messages, facts


async def publish_all(bus: Bus, messages: list[Message], window: int = 2000) -> float:
    started = time.perf_counter()
    for begin in range(0, len(messages), window):
        await asyncio.gather(*(bus.publish(m) for m in messages[begin : begin + window]))
    return time.perf_counter() - started


async def drained(bus: Bus, durable: str) -> bool:
    js = bus.connection.jetstream()
    try:
        info = await js.consumer_info(bus.config.stream, durable)
    except NotFoundError:
        return False
    return info.num_pending == 0 and info.num_ack_pending == 0


async def ingest(
    settings: Settings, bus: Bus, every_tick: Callable[[], None] | None = None
) -> tuple[Service, float]:
    """Start the metadata service on the backlog; seconds until it has handled all of it.
    ``every_tick`` runs in a thread every 30 s meanwhile (the service goes on)."""
    js = bus.connection.jetstream()
    with contextlib.suppress(NotFoundError):  # a previous database's: start from the first
        await js.delete_consumer(bus.config.stream, "metadata")
    service = build(settings, http=HttpSettings(port=0), access=ACCESS)
    started = time.perf_counter()
    await service.start()
    last_report = started
    while not await drained(bus, "metadata"):
        await asyncio.sleep(0.2)
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            print(f"  ... {last_report - started:.0f} s", flush=True)
            if every_tick is not None:
                await asyncio.to_thread(every_tick)
    return service, time.perf_counter() - started


async def timed(count: int, ask: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    for i in range(10):  # warm up
        await ask(i)
    samples: list[float] = []
    for i in range(count):
        begin = time.perf_counter()
        await ask(i)
        samples.append((time.perf_counter() - begin) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
    }


async def queries(service: Service, bus: Bus, facts: dict[str, Any], count: int) -> dict[str, Any]:
    rng = random.Random(7)
    runs = int(facts["runs"])
    ends: list[tuple[str, str]] = facts["chain_ends"]
    url = service.endpoints["http"]
    results: dict[str, Any] = {}

    async def runs_page(i: int) -> None:
        state = ("SUCCEEDED", "FAILED")[i % 2]
        page = await bus.request(ListRuns(state=state, limit=50), timeout=10)
        assert len(page.runs) == 50, f"{state}: {len(page.runs)} runs"  # type: ignore[attr-defined]
        token = page.next_page_token  # type: ignore[attr-defined]
        nxt = await bus.request(ListRuns(state=state, limit=50, page_token=token), timeout=10)
        assert len(nxt.runs) == 50  # type: ignore[attr-defined]

    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=10, headers=auth) as http:

        async def run_with_steps(i: int) -> None:
            run_id = f"run-{rng.randrange(runs):06d}"
            reply = await http.get(f"{url}/runs/{run_id}")
            reply.raise_for_status()
            assert len(reply.json()["steps"]) == len(STEPS), reply.text[:200]

        async def lineage(i: int) -> None:
            run_id, uri = ends[rng.randrange(len(ends))]
            graph = await bus.request(GetLineage(uri=uri, direction="upstream", hops=5), timeout=10)
            assert len(graph.nodes) == 6, (run_id, graph)  # type: ignore[attr-defined]

        async def alias(i: int) -> None:
            name = f"model-{rng.randrange(int(facts['models']))}"
            found = await bus.request(ResolveModel(uri=f"models:/{name}@production"), timeout=10)
            version = found.version  # type: ignore[attr-defined]
            assert version is not None, found
            assert version.uri.startswith("s3://bench/"), found

        results["runs page (2 pages of 50, by state)"] = await timed(count, runs_page)
        results["run with its steps (HTTP)"] = await timed(count, run_with_steps)
        results["lineage, 5 hops upstream"] = await timed(count, lineage)
        if facts["models"]:
            results["model alias resolution"] = await timed(count, alias)
    return results


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    messages, facts = workload(args.runs, args.lineage_every)
    databases: list[tuple[str, str | None]] = []
    if args.sqlite or not args.postgres:
        databases.append(("sqlite", None))
    if args.postgres:
        databases.append(("postgresql", args.postgres))
    report: dict[str, Any] = {
        "runs": args.runs,
        "steps_per_run": len(STEPS),
        "artifacts": facts["artifacts"],
        "model_versions": facts["model_versions"],
        "events": len(messages),
        "databases": {},
    }
    with tempfile.TemporaryDirectory(prefix="headrace-bench-metadata-") as tmp:
        home = Path(tmp)
        server = NatsServer(store_dir=home / "nats").start()
        bus = Bus(BusConfig(url=server.url), source="bench/metadata")
        try:
            await bus.connect()
            if not args.queries_only:
                print(f"publishing {len(messages)} events ({args.runs} runs) ...", flush=True)
                seconds = await publish_all(bus, messages)
                print(f"  published in {seconds:.1f} s", flush=True)
            for kind, url in databases:
                report["databases"][kind] = await one_database(
                    args, home, server.url, bus, kind, url, len(messages), facts
                )
        finally:
            await bus.close()
            server.stop()
    return report


async def one_database(
    args: argparse.Namespace,
    home: Path,
    nats_url: str,
    bus: Bus,
    kind: str,
    url: str | None,
    events: int,
    facts: dict[str, Any],
) -> dict[str, Any]:
    if url and not args.queries_only:
        from headrace_testing.database import reset_postgres

        reset_postgres(url)
    settings = Settings(
        home=home / kind,
        nats_url=nats_url,
        database_url=url or f"sqlite:///{home / kind / 'metadata.db'}",
        log_level="WARNING",
    )
    figures: dict[str, Any] = {}
    if args.queries_only:
        service = build(settings, http=HttpSettings(port=0), access=ACCESS)
        await service.start()
    else:
        print(f"[{kind}] ingesting ...", flush=True)
        # Autovacuum analyses a growing table again and again (every minute at most, once
        # it grew by a tenth); without statistics the planner takes a 300,000-row table for
        # a tiny one and scans a whole index range to find 200 keys. So where it is off,
        # the bench analyses every 30 s while the service ingests, as it would.
        tick = (lambda: analyze(url, quiet=True)) if url else None
        service, seconds = await ingest(settings, bus, tick)
        rate = events / seconds
        print(f"[{kind}] {events} events in {seconds:.1f} s: {rate:.0f}/s")
        figures.update(ingest_seconds=round(seconds, 1), ingest_events_per_second=round(rate))
    try:
        if url:
            analyze(url)
        figures["queries"] = await queries(service, bus, facts, args.queries)
    finally:
        await service.stop()
    for name, value in figures["queries"].items():
        print(f"[{kind}] {name}: p50 {value['p50_ms']} ms, p95 {value['p95_ms']} ms")
    return figures


def analyze(url: str, *, quiet: bool = False) -> None:
    """ANALYZE the metadata tables when the server's autovacuum (which would) is off."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.exec_driver_sql("SHOW autovacuum").scalar() == "off":
                if not quiet:
                    print("  autovacuum is off on this server: running ANALYZE as it would")
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--lineage-every", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200, help="samples per query")
    parser.add_argument("--sqlite", action="store_true", help="also with --postgres")
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL (its data is reset)")
    parser.add_argument(
        "--queries-only",
        action="store_true",
        help="with --postgres: only the queries, on the database a previous run with the "
        "same --runs loaded",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.queries_only and (args.sqlite or not args.postgres):
        parser.error("--queries-only needs --postgres (a SQLite store does not outlive a run)")
    report = asyncio.run(bench(args))
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
