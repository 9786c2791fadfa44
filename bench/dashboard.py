"""The dashboard's pages at scale: server response times of the requests the runs page and
an experiment's page make, over 100,000 runs and an experiment of 20,000 trials.

Seeds (setup, not measured) the metadata service's run read model with ``--runs`` runs of 5
steps each (a tenth failed, one in 50 still running, 10 pipelines, 20 experiments, a
``team`` label) and the tuner's tables with one finished Katib experiment of ``--trials``
trials (parameters, metrics, objective values; some failed or early stopped), written in
bulk through the services' own table models. Then starts a real nats-server and the real
metadata and tuner services (each its own process, ``headrace-metadata`` and
``headrace-tuner``) on those databases, the metadata service's HTTP API with access on and
an admin token as ``headrace up`` makes one, sent as ``Authorization: Bearer``.

The requests are the dashboard's own (``ui/src/pages/Runs.jsx`` and ``Experiments.jsx``):

    runs page        GET /api/v1/runs?sort=created&limit=50 (newest first, with the total);
                     the same filtered by state, by pipeline and by experiment name, sorted
                     by duration (ascending) and by finish time, and the 20th page by the
                     page token the 19th gave ("Older ->" clicked 19 times)
    experiment page  GET /api/v1/tuning/experiments/{name} (summary: counts, best trial)
                     beside GET .../trials?limit=500 page after page until the last (the
                     page loads every trial for its plots: 20 requests for 20,000 trials)
    experiments      GET /api/v1/tuning/experiments (the list page)

Where the server serves the dashboard itself (``GET /`` answers HTML), ``index.html`` and
the scripts and style sheets it names are timed too.

Each request is timed ``--repeat`` times after a warm-up, one client with keep-alive (httpx),
one request at a time (every trial page of the experiment each time); then each page is
loaded ``--repeat`` times as the dashboard loads it (the experiment summary alongside the
chain of trial pages, so the summary waits behind a page of 1,000 trials there). Prints
p50/p95/max per request and per page and PASS or MISS against the target (issue 15): p95
under 100 ms per request.

    .venv/bin/python bench/dashboard.py [--runs 100000] [--trials 20000] [--repeat 30]
        [--postgres URL] [--json]

On SQLite by default (a temporary directory, removed at the end); with ``--postgres`` both
services use that database (its data is reset first) and it is analysed after seeding.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from metadata import STEPS, analyze, percentile  # bench/metadata.py, beside this file
from sqlalchemy import Engine, insert

from headrace.natsserver import NatsServer, free_port
from headrace_contracts.access import new_token_secret, token_digest
from headrace_metadata.runs.fold import RUN_RANK, STEP_RANK
from headrace_metadata.runs.tables import NO_DURATION, NOT_FINISHED, LabelRow, RunRow, StepRow
from headrace_runtime import build_engine, create_tables
from headrace_tuner.experiments.store import ExperimentRow, TrialRow

TARGET_MS = 100.0
PAGE = 50  # Runs.jsx
TRIAL_PAGE = 500  # Experiments.jsx
DEEP_PAGE = 20
EXPERIMENT = "dash-bench"
CHUNK = 5000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# seeding ------------------------------------------------------------------------------------


def run_state(index: int, runs: int) -> str:
    if index % 50 == 3 or index >= runs - 5:
        return "RUNNING"
    return "FAILED" if index % 10 == 7 else "SUCCEEDED"


def run_rows(runs: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]]:
    """Each run's row, its steps' rows and its label row, as the read model holds them."""
    for index in range(runs):
        run_id = f"run-{index:06d}"
        state = run_state(index, runs)
        created = T0 + timedelta(seconds=30 * index)
        started = created + timedelta(seconds=2)
        took = 60.0 + (index * 7919) % 3600
        finished = None if state == "RUNNING" else started + timedelta(seconds=took)
        run = {
            "run_id": run_id,
            "submitted": True,
            "state": state,
            "state_rank": RUN_RANK[state],
            "state_at": finished or started,
            "pipeline_name": f"pipe-{index % 10}",
            "experiment": f"exp-{index % 20}",
            "display_name": f"nightly {index}",
            "enable_caching": True,
            "arguments": {"lr": 0.01 * (index % 7 + 1)},
            "labels": {"team": f"team-{index % 4}"},
            "output_parameters": {},
            "output_artifacts": {},
            "error": "evaluate failed" if state == "FAILED" else "",
            "step_count": len(STEPS),
            "created_at": created,
            "started_at": started,
            "finished_at": finished,
            "finished_order": finished or NOT_FINISHED,
            "duration_order": took if finished else NO_DURATION,
        }
        steps = []
        at = started
        for number, task in enumerate(STEPS):
            last = number == len(STEPS) - 1
            step_state = "SUCCEEDED"
            if last and state != "SUCCEEDED":
                step_state = "FAILED" if state == "FAILED" else "RUNNING"
            seconds = took / len(STEPS)
            steps.append(
                {
                    "run_id": run_id,
                    "step_id": f"root/{task}",
                    "task_name": task,
                    "kind": "container",
                    "parent": "root",
                    "state": step_state,
                    "state_attempt": 1,
                    "state_rank": STEP_RANK[step_state],
                    "state_at": at,
                    "attempts": 1,
                    "output_parameters": {},
                    "output_artifacts": {},
                    "exit_code": None if step_state == "RUNNING" else int(step_state == "FAILED"),
                    "started_attempt": 1,
                    "started_at": at,
                    "finished_at": None
                    if step_state == "RUNNING"
                    else at + timedelta(seconds=seconds),
                    "duration_seconds": None if step_state == "RUNNING" else seconds,
                }
            )
            at += timedelta(seconds=seconds)
        label = {"run_id": run_id, "key": "team", "value": f"team-{index % 4}"}
        yield run, steps, label


def seed_runs(engine: Engine, runs: int) -> None:
    create_tables(engine, [RunRow, StepRow, LabelRow])
    batch: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    for run, steps, label in run_rows(runs):
        batch[0].append(run)
        batch[1].extend(steps)
        batch[2].append(label)
        if len(batch[0]) >= CHUNK:
            _insert(engine, batch)
            batch = ([], [], [])
    _insert(engine, batch)


def _insert(engine: Engine, batch: tuple[list[Any], list[Any], list[Any]]) -> None:
    if not batch[0]:
        return
    with engine.begin() as conn:
        for model, rows in zip((RunRow, StepRow, LabelRow), batch, strict=True):
            conn.execute(insert(model), rows)


def experiment_spec(trials: int) -> dict[str, Any]:
    """The applied Katib document (random search over three parameters)."""
    container = {
        "name": "training-container",
        "image": "python:3.11",
        "command": ["python", "train.py", "--lr=${trialParameters.lr}"],
    }
    space = [
        ("lr", "double", {"min": "0.0001", "max": "0.1"}),
        ("layers", "int", {"min": "1", "max": "8"}),
        ("optimizer", "categorical", {"list": ["sgd", "adam", "rmsprop"]}),
    ]
    return {
        "apiVersion": "kubeflow.org/v1beta1",
        "kind": "Experiment",
        "metadata": {"name": EXPERIMENT},
        "spec": {
            "objective": {
                "type": "minimize",
                "objectiveMetricName": "loss",
                "additionalMetricNames": ["accuracy"],
            },
            "algorithm": {"algorithmName": "random"},
            "maxTrialCount": trials,
            "parallelTrialCount": 10,
            "parameters": [
                {"name": n, "parameterType": t, "feasibleSpace": s} for n, t, s in space
            ],
            "trialTemplate": {
                "trialParameters": [{"name": "lr", "reference": "lr"}],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {"spec": {"containers": [container], "restartPolicy": "Never"}}
                    },
                },
            },
        },
    }


def trial_row(number: int) -> dict[str, Any]:
    state = "SUCCEEDED"
    if number % 20 == 11:
        state = "FAILED"
    elif number % 33 == 5:
        state = "EARLY_STOPPED"
    lr = 0.0001 + (number * 0.618034) % 1 * 0.0999
    layers = 1 + number % 8
    loss = round(abs(lr - 0.01) * 40 + abs(layers - 4) * 0.1 + (number * 7919 % 1000) / 5000, 6)
    metrics = {"loss": loss, "accuracy": round(1 - loss / 10, 6)} if state != "FAILED" else {}
    created = T0 + timedelta(seconds=20 * number)
    return {
        "experiment_id": f"default/{EXPERIMENT}",
        "number": number,
        "name": f"{EXPERIMENT}-{number:05d}",
        "job_id": f"default/{EXPERIMENT}-{number:05d}",
        "parameters": {
            "lr": f"{lr:.6g}",
            "layers": str(layers),
            "optimizer": ("sgd", "adam", "rmsprop")[number % 3],
        },
        "observed": {
            name: {"min": value, "max": value, "latest": value, "step": 9, "count": 10}
            for name, value in metrics.items()
        },
        "metrics": metrics,
        "intermediate": {str(step): loss + (10 - step) / 100 for step in range(10)}
        if metrics
        else {},
        "reported_step": 9 if metrics else -1,
        "objective_value": loss if state == "SUCCEEDED" else None,
        "objective_values": [loss] if state == "SUCCEEDED" else [],
        "state": state,
        "reason": {"FAILED": "TrialFailed", "EARLY_STOPPED": "TrialEarlyStopped"}.get(
            state, "TrialSucceeded"
        ),
        "message": "its job failed: exit code 1" if state == "FAILED" else "",
        "told": True,
        "created_at": created,
        "finished_at": created + timedelta(seconds=180),
    }


def seed_experiment(engine: Engine, trials: int) -> None:
    create_tables(engine, [ExperimentRow, TrialRow])
    with engine.begin() as conn:
        conn.execute(
            insert(ExperimentRow),
            [
                {
                    "experiment_id": f"default/{EXPERIMENT}",
                    "uid": "bench",
                    "namespace": "default",
                    "name": EXPERIMENT,
                    "spec": experiment_spec(trials),
                    "state": "SUCCEEDED",
                    "reason": "ExperimentMaxTrialsReached",
                    "message": f"{trials} trials done",
                    "algorithm": "random",
                    "objective_type": "minimize",
                    "objective_metric": "loss",
                    "objectives": [["loss", "minimize"]],
                    "parallel_trial_count": 10,
                    "max_trial_count": trials,
                    "seq": trials,
                    "created_at": T0,
                    "finished_at": T0 + timedelta(seconds=20 * trials + 180),
                }
            ],
        )
    for begin in range(0, trials, CHUNK):
        with engine.begin() as conn:
            rows = [trial_row(n) for n in range(begin, min(trials, begin + CHUNK))]
            conn.execute(insert(TrialRow), rows)


# the services -------------------------------------------------------------------------------


@contextmanager
def service(name: str, env: dict[str, str], logs: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``headrace-<name>`` as its own process; stopped (SIGTERM, then killed) at the end."""
    log = (logs / f"{name}.log").open("wb")
    code = f"from headrace_{name}.app import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def until_ready(
    http: httpx.AsyncClient,
    path: str,
    processes: dict[str, subprocess.Popen[bytes]],
    logs: Path,
    timeout: float = 300,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for name, process in processes.items():
            if process.poll() is not None:
                tail = (logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"the {name} service exited ({process.returncode}):\n{tail}")
        try:
            if (await http.get(path)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"GET {path} did not answer 200 within {timeout:.0f} s")
        await asyncio.sleep(0.2)


# timing -------------------------------------------------------------------------------------


class Timer:
    """Every sample of every request kind and page, in milliseconds."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.requests: dict[str, list[float]] = {}
        self.pages: dict[str, list[float]] = {}
        self.recording = ""  # "requests", "pages" or "" (warming up)

    async def get(self, kind: str, path: str, **params: Any) -> httpx.Response:
        begin = time.perf_counter()
        reply = await self.http.get(path, params=params or None)
        elapsed = (time.perf_counter() - begin) * 1000
        if reply.status_code != 200:
            raise SystemExit(f"GET {path} {params}: {reply.status_code} {reply.text[:300]}")
        if self.recording == "requests":
            self.requests.setdefault(kind, []).append(elapsed)
        return reply

    async def page(self, name: str, load: Callable[[], Awaitable[None]]) -> None:
        begin = time.perf_counter()
        await load()
        if self.recording == "pages":
            self.pages.setdefault(name, []).append((time.perf_counter() - begin) * 1000)

    async def samples(
        self, what: str, count: int, warmup: int, load: Callable[[], Awaitable[Any]]
    ) -> None:
        """``load`` ``warmup`` times unrecorded, then ``count`` times recording ``what``."""
        for recording in ("", what):
            self.recording = recording
            for _ in range(count if recording else warmup):
                await load()
        self.recording = ""


def figures(samples: list[float]) -> dict[str, Any]:
    p95 = percentile(samples, 0.95)
    return {
        "samples": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(max(samples), 1),
    }


async def measure(timer: Timer, args: argparse.Namespace) -> dict[str, Any]:
    http = timer.http
    facts: dict[str, Any] = {}

    def runs_query(**extra: Any) -> dict[str, Any]:
        return {"sort": "created", "limit": PAGE, **extra}

    # The page token of the 20th page, as clicking "Older ->" 19 times gets it.
    token = ""
    for _ in range(DEEP_PAGE - 1):
        token = (await http.get("/runs", params=runs_query(page_token=token))).json()[
            "next_page_token"
        ]
    first = (await http.get("/runs", params=runs_query())).json()
    facts["runs_total"] = first["total"]
    assert first["total"] == args.runs, f"the runs page says {first['total']} runs"
    assert len(first["runs"]) == PAGE, first["runs"]
    assert first["runs"][0]["step_states"], first["runs"][0]

    run_requests: list[tuple[str, dict[str, Any]]] = [
        ("runs: state=FAILED", runs_query(state="FAILED")),
        ("runs: pipeline=pipe-3", runs_query(pipeline="pipe-3")),
        ("runs: experiment=exp-7", runs_query(experiment="exp-7")),
        ("runs: by duration, ascending", {**runs_query(sort="duration"), "asc": "true"}),
        ("runs: by finish time", runs_query(sort="finished")),
        (f"runs: page {DEEP_PAGE} (page_token)", runs_query(page_token=token)),
    ]

    trial_counts: list[int] = []

    async def trial_pages() -> None:
        token, held = "", 0
        while True:
            params: dict[str, Any] = {"namespace": "default", "limit": TRIAL_PAGE}
            if token:
                params["page_token"] = token
            reply = await timer.get(
                f"experiment: trials, up to {TRIAL_PAGE} a page", f"{experiment}/trials", **params
            )
            found = reply.json()
            held += len(found["trials"])
            token = found["next_page_token"]
            if not token or not found["trials"]:
                break
        trial_counts.append(held)

    experiment = f"/tuning/experiments/{EXPERIMENT}"

    async def experiment_summary() -> None:
        await timer.get("experiment: summary", experiment, namespace="default")

    async def experiment_page() -> None:
        summary = experiment_summary()
        await asyncio.gather(summary, trial_pages())

    async def experiments_page() -> None:
        await timer.get("experiments: list", "/tuning/experiments")

    async def runs_page() -> None:  # its default view
        reply = await timer.get("runs: newest 50", "/runs", **runs_query())
        assert len(reply.json()["runs"]) == PAGE, reply.text[:200]

    pages: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("runs page (newest 50)", runs_page),
        ("experiments list", experiments_page),
        ("experiment page (summary + every trial)", experiment_page),
    ]
    root = str(http.base_url).removesuffix("/api/v1/").removesuffix("/api/v1")
    static = await static_assets(http, root)
    facts["static_assets"] = static
    if static:

        async def shell() -> None:
            for path in static:
                await timer.get(f"static: {path}", root + path)

        pages.insert(0, ("dashboard shell (index.html + assets)", shell))

    # Each request alone (the trial pages one after another), then each page as it loads.
    alone: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("experiment summary", lambda: experiment_summary()),
        ("experiment trial pages", trial_pages),
        ("experiments list", experiments_page),
    ]
    alone += [
        (kind, lambda params=params, kind=kind: timer.get(kind, "/runs", **params))
        for kind, params in [("runs: newest 50", runs_query()), *run_requests]
    ]
    if static:
        alone.insert(0, ("dashboard shell", pages[0][1]))
    print(f"  {len(alone)} requests, one at a time ...", flush=True)
    for _, load in alone:
        await timer.samples("requests", args.repeat, args.warmup, load)
    for name, load in pages:
        print(f"  {name} ...", flush=True)
        whole = functools.partial(timer.page, name, load)
        await timer.samples("pages", args.repeat, args.warmup, whole)
    facts["trials_loaded"] = trial_counts[-1]
    assert trial_counts[-1] == args.trials, f"the experiment page held {trial_counts[-1]} trials"
    return facts


async def static_assets(http: httpx.AsyncClient, root: str) -> list[str]:
    """``/`` and the same-origin scripts and style sheets it names, if the server serves the
    dashboard; else none."""
    reply = await http.get(root + "/")
    if reply.status_code != 200 or "html" not in reply.headers.get("content-type", ""):
        return []
    names = re.findall(r"""(?:src|href)=["'](/[^"'/][^"']*\.(?:js|css))["']""", reply.text)
    return ["/", *dict.fromkeys(names)]


def seed(url: str, service: str, write: Callable[[Engine], None]) -> None:
    """``write`` through an engine on ``service``'s database (its schema on PostgreSQL)."""
    engine = build_engine(url, service)
    try:
        write(engine)
    finally:
        engine.dispose()


# the bench ----------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, home: Path, database: str | None) -> dict[str, Any]:
    metadata_url = database or f"sqlite:///{home / 'metadata.db'}"
    tuner_url = database or f"sqlite:///{home / 'tuner.db'}"
    if database:
        from headrace_testing.database import reset_postgres

        reset_postgres(database)
    began = time.perf_counter()
    print(f"seeding {args.runs} runs ({len(STEPS)} steps each) ...", flush=True)
    seed(metadata_url, "metadata", lambda engine: seed_runs(engine, args.runs))
    print(f"seeding an experiment of {args.trials} trials ...", flush=True)
    seed(tuner_url, "tuner", lambda engine: seed_experiment(engine, args.trials))
    if database:
        analyze(database)
    seeded = time.perf_counter() - began
    print(f"  seeded in {seeded:.1f} s", flush=True)

    token = new_token_secret()
    port = free_port()
    with ExitStack() as stack:
        nats = NatsServer(store_dir=home / "nats").start()
        stack.callback(nats.stop)
        env = {
            **os.environ,
            "HEADRACE_HOME": str(home),
            "HEADRACE_NATS_URL": nats.url,
            "HEADRACE_LOG_LEVEL": "WARNING",
            "HEADRACE_METRICS_PORT": "off",
            "HEADRACE_METADATA_DATABASE_URL": metadata_url,
            "HEADRACE_TUNER_DATABASE_URL": tuner_url,
            "HEADRACE_METADATA_HTTP_PORT": str(port),
            "HEADRACE_API_AUTH": "token",
            "HEADRACE_API_ADMIN_TOKEN_SHA256": token_digest(token),
        }
        processes = {
            name: stack.enter_context(service(name, env, home)) for name in ("metadata", "tuner")
        }
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as client:
            started = time.perf_counter()
            await until_ready(client, "/runs?limit=1", processes, home)
            await until_ready(client, f"/tuning/experiments/{EXPERIMENT}", processes, home)
            print(f"  services answering after {time.perf_counter() - started:.1f} s", flush=True)
            timer = Timer(client)
            facts = await measure(timer, args)
        for name, process in processes.items():
            if process.poll() is not None:
                raise SystemExit(f"the {name} service exited during the bench")
    return {
        "database": "postgresql" if database else "sqlite",
        "runs": args.runs,
        "steps": args.runs * len(STEPS),
        "trials": args.trials,
        "repeat": args.repeat,
        "seed_seconds": round(seeded, 1),
        "target_p95_ms": TARGET_MS,
        **facts,
        "requests": {k: figures(v) for k, v in timer.requests.items()},
        "pages": {k: figures(v) for k, v in timer.pages.items()},
    }


def show(report: dict[str, Any]) -> bool:
    """Print the figures; True when every request met the target."""
    print(
        f"\n{report['database']}: {report['runs']} runs, {report['trials']} trials, "
        f"{report['repeat']} samples per request; target p95 < {TARGET_MS:.0f} ms per request"
    )
    if not report["static_assets"]:
        print("(the server does not serve the dashboard at /: its assets are not timed)")
    width = max(len(k) for k in [*report["requests"], *report["pages"]]) + 2
    print(f"{'request':<{width}} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target")
    met = True
    for name, value in report["requests"].items():
        ok = value["p95_ms"] < TARGET_MS
        met = met and ok
        line = f"{value['p50_ms']:>8} {value['p95_ms']:>8} {value['max_ms']:>8}"
        print(f"{name:<{width}} {line}  {'PASS' if ok else 'MISS'}")
    print(f"{'page (its requests together)':<{width}} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, value in report["pages"].items():
        print(f"{name:<{width}} {value['p50_ms']:>8} {value['p95_ms']:>8} {value['max_ms']:>8}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30, help="samples per request")
    parser.add_argument("--warmup", type=int, default=3, help="unrecorded loads first")
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL (its data is reset)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.runs < DEEP_PAGE * PAGE or args.trials < 1:
        parser.error(f"--runs must be at least {DEEP_PAGE * PAGE} and --trials at least 1")
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="headrace-bench-dashboard-") as tmp:
        report = asyncio.run(bench(args, Path(tmp), args.postgres or None))
    report["wall_seconds"] = round(time.perf_counter() - began, 1)
    show(report)
    print(f"wall time {report['wall_seconds']} s")
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
