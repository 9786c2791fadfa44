"""The dashboard's run endpoints against a real platform (scheduler, trainer, metadata
service on a real nats-server): live events over SSE, in order and filtered; submitting,
cancelling and re-running runs over HTTP; and their refusals (400, 404, 409)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from dashboard_pipelines import artifacts, napping
from dashboard_platform import Dash, dashboard_platform, eventually, first_comment
from sqlalchemy import event, func
from sqlmodel import Session, select

from headrace.run_source import load_source
from headrace_contracts import ListRuns, PruneReport, PruneRuns
from headrace_metadata.runs import list_runs
from headrace_metadata.runs.specs import PipelineSpecRow, SubmissionRow

STEP = "io.headrace.step."


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    with dashboard_platform(tmp_path_factory.mktemp("dash-runs")) as made:
        yield made


@pytest.fixture(scope="module")
def artifacts_yaml() -> str:
    return yaml.safe_dump(load_source(artifacts)[0])


@pytest.fixture(scope="module")
def napping_spec() -> dict[str, Any]:
    return load_source(napping)[0]


def test_events_of_a_run_arrive_live_in_order_and_filtered(dash: Dash, artifacts_yaml: str) -> None:
    run_id = "dash-sse-run"
    mine = dash.events(run_id=run_id, type_prefix="io.headrace.step")
    everything = dash.events()
    try:
        other = dash.post("/runs", {"pipeline": artifacts_yaml, "run_id": "dash-sse-other"})
        assert other.status_code == 202, other.text
        accepted = dash.post("/runs", {"pipeline": artifacts_yaml, "run_id": run_id})
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["run_id"] == run_id

        def types() -> list[str]:
            return [e["event"] for e in mine.received]

        mine.wait(lambda: f"{STEP}succeeded.v1" in types(), what="the step's success")
        assert types()[:3] == [f"{STEP}ready.v1", f"{STEP}started.v1", f"{STEP}succeeded.v1"]
        for event in mine.received:
            body = event["data"]
            assert event["id"] == body["id"]
            assert body["type"] == event["event"]
            assert body["subject"].startswith("headrace.step.")
            assert body["time"]
            assert body["data"]["run_id"] == run_id
            assert body["data"]["step_id"] == "write-all"
        # unfiltered: the run's own events too, its artifacts' among them
        written = "io.headrace.artifact.written.v1"

        def ended() -> bool:
            seen = [e["event"] for e in everything.of_run(run_id)]
            others = [e["event"] for e in everything.of_run("dash-sse-other")]
            return (
                "io.headrace.run.succeeded.v1" in seen
                and seen.count(written) == 6
                and "io.headrace.run.succeeded.v1" in others
            )

        everything.wait(ended, what="the run's success and its six artifacts")
        seen = [e["event"] for e in everything.of_run(run_id)]
        assert seen[0] == "io.headrace.run.submit.v1"
        assert "io.headrace.run.started.v1" in seen
        assert seen.index(f"{STEP}succeeded.v1") < seen.index("io.headrace.run.succeeded.v1")
        assert {e["data"]["data"]["run_id"] for e in mine.received} == {run_id}
        assert f"{STEP}succeeded.v1" in [e["event"] for e in everything.of_run("dash-sse-other")]
        subjects = [e["data"]["subject"] for e in everything.received]
        assert not [s for s in subjects if s.startswith(("headrace.query.", "headrace.dlq."))]
    finally:
        mine.close()
        everything.close()


def test_a_closed_stream_frees_its_listener(dash: Dash) -> None:
    url = f"{dash.base}/events"
    assert first_comment(url, dict(dash.http.headers)) == "listening (1 connected)"
    for _ in range(200):  # the server notices the closed connection a moment later
        count = first_comment(url, dict(dash.http.headers))
        if count == "listening (1 connected)":
            return
        time.sleep(0.05)
    raise AssertionError(f"the closed streams' listeners stay: {count}")


def test_submit_cancel_and_rerun_drive_real_runs(dash: Dash, napping_spec: dict[str, Any]) -> None:
    accepted = dash.post(
        "/runs",
        {
            "pipeline": napping_spec,
            "parameters": {"seconds": 60},
            "name": "long nap",
            "experiment": "dash",
            "labels": {"team": "ui"},
        },
    )
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["run_id"]
    assert run_id.startswith("dash-nap-")
    run = dash.client.get(run_id)
    assert (run.display_name, run.experiment) == ("long nap", "dash")
    assert run.arguments == {"seconds": 60}

    cancelled = dash.post(f"/runs/{run_id}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert dash.client.wait(run_id, timeout=60).state == "CANCELLED"
    again = dash.post(f"/runs/{run_id}/cancel")
    assert "has ended (CANCELLED)" in dash.error(again, 409)

    rerun = dash.post(f"/runs/{run_id}/rerun")
    assert rerun.status_code == 202, rerun.text
    new_id = rerun.json()["run_id"]
    assert new_id != run_id
    second = dash.client.get(new_id)
    assert second.arguments == {"seconds": 60}
    assert (second.display_name, second.experiment) == ("long nap", "dash")
    recorded = eventually(lambda: dash.ok(f"/runs/{new_id}"), lambda r: bool(r["labels"]))
    assert recorded["labels"] == {"team": "ui", "headrace.rerun-of": run_id}
    assert dash.post(f"/runs/{new_id}/cancel").status_code == 202
    assert dash.client.wait(new_id, timeout=60).state == "CANCELLED"


def test_refused_run_actions_say_why(dash: Dash, napping_spec: dict[str, Any]) -> None:
    not_yaml = dash.post("/runs", {"pipeline": "a: [b\nc: d"})
    assert "not valid YAML" in dash.error(not_yaml, 400)
    path = dash.post("/runs", {"pipeline": "/etc/pipeline.yaml"})
    assert "not a file name" in dash.error(path, 400)
    wrong_type = dash.post("/runs", {"pipeline": napping_spec, "parameters": {"seconds": "x"}})
    assert "seconds" in dash.error(wrong_type, 400)
    missing = dash.post("/runs", {"parameters": {}})
    assert "'pipeline' is required" in dash.error(missing, 400)
    bad_id = dash.post("/runs", {"pipeline": napping_spec, "run_id": "-bad"})
    assert "run id '-bad'" in dash.error(bad_id, 400)
    for action in ("cancel", "rerun"):
        unknown = dash.post(f"/runs/no-such-run/{action}")
        assert "no run 'no-such-run'" in dash.error(unknown, 404)
    wrong_method = dash.http.get(f"{dash.base}/runs/x/cancel")
    assert "use POST" in dash.error(wrong_method, 405)


def test_the_tuner_proxy_names_the_missing_tuner(dash: Dash) -> None:
    """At once: the live events' subscription does not take queries, so NATS tells the
    asker that nobody answers instead of letting it wait out its 5 s."""
    began = time.monotonic()
    reason = dash.error(dash.get("/tuning/experiments"), 503)
    assert time.monotonic() - began < 4
    assert reason.startswith("no tuner answers on NATS (ListExperiments)")
    assert "`headrace up`" in reason
    assert "headrace-tuner" in reason


def test_a_page_of_runs_is_read_in_a_fixed_number_of_queries(dash: Dash) -> None:
    """``GET /runs?limit=50`` (the dashboard's run list) reads its page in one paged query,
    plus the total and the page's step counts: never a query per run."""
    engine = dash.metadata.engine
    assert engine is not None
    here = threading.get_ident()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == here:
            statements.append(" ".join(statement.split()))

    def read(limit: int) -> tuple[int, list[str]]:
        statements.clear()
        with Session(engine) as session:
            page = list_runs(session, ListRuns(limit=limit))
        return len(page.runs), list(statements)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        one, few = read(1)
        many, fifty = read(50)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert (one, many) == (1, dash.ok("/runs", limit=50)["total"])
    assert many >= 3
    assert len(fifty) == len(few) <= 4, fifty
    paged = [s for s in fifty if "FROM runs_runs" in s and "LIMIT" in s]
    assert len(paged) == 1


def test_pruned_runs_take_their_kept_pipelines_with_them(dash: Dash) -> None:
    """(Last: it prunes every run of the module.)"""
    engine = dash.metadata.engine
    assert engine is not None

    def kept() -> tuple[int, int]:
        with Session(engine) as session:
            return (
                session.exec(select(func.count()).select_from(SubmissionRow)).one(),
                session.exec(select(func.count()).select_from(PipelineSpecRow)).one(),
            )

    submissions, pipelines = kept()
    assert submissions == 4  # the two SSE runs, the nap and its rerun
    assert pipelines == 2  # dash-artifacts and dash-nap, each kept once
    report = dash.platform.run(dash.platform.bus.request(PruneRuns(keep=0), timeout=30))
    assert isinstance(report, PruneReport)
    assert len(report.runs) == submissions, report
    assert kept() == (0, 0)
    gone = dash.post(f"/runs/{report.runs[0]}/rerun")
    assert gone.status_code in (404, 409), gone.text
