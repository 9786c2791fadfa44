"""The dashboard in a real headless Chromium against a real platform: load it, submit a run
from the UI, watch its graph reach SUCCEEDED without a reload, open a step's log, see a
confusion matrix, and promote a model (refused first, with the registry's reason).
Screenshots go to test-artifacts/dashboard/<test>/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest
import yaml
from browser_pipelines import ACCURACY, MODEL, demo, groups, slow
from browser_platform import Platform
from kfp import compiler

from headrace import Client
from headrace_contracts import (
    CreateExperiment,
    InferenceServiceUpdated,
    InferenceServiceView,
    InferenceTrafficSummarized,
    RevisionTraffic,
)
from headrace_contracts.serving_views import RevisionView, TrafficView

pytestmark = pytest.mark.timeout(300)
WAIT_MS = 120_000
CLI = (sys.executable, "-m", "headrace.cli")
T = TypeVar("T")
EXPERIMENT = Path(__file__).parents[3] / "examples" / "tuning" / "random-quadratic.yaml"
# How many trial rows the experiment page showed, each time the table changed.
RECORD_TRIALS = """() => {
  window.__notReloaded = true;
  window.__trialRows = [document.querySelectorAll('#trials tbody tr').length];
  new MutationObserver(() => {
    const n = document.querySelectorAll('#trials tbody tr').length;
    if (n !== window.__trialRows[window.__trialRows.length - 1]) window.__trialRows.push(n);
  }).observe(document.body, { childList: true, subtree: true });
}"""

# Every snapshot of the graph's step states, kept by the page as they change.
RECORD_STATES = """() => {
  window.__statesSeen = [];
  const graph = document.getElementById('run-graph');
  const keep = () => window.__statesSeen.push(graph.dataset.states || '{}');
  keep();
  new MutationObserver(keep).observe(graph, { attributes: true, attributeFilter: ['data-states'] });
  window.__notReloaded = true;
}"""
ALL_SUCCEEDED = """(n) => {
  const graph = document.getElementById('run-graph');
  if (!graph || !graph.dataset.states) return false;
  const states = Object.values(JSON.parse(graph.dataset.states));
  const run = document.querySelector('h1 .state');
  return states.length === n && states.every((s) => s === 'SUCCEEDED')
    && run && run.dataset.state === 'SUCCEEDED';
}"""


@pytest.fixture(scope="module")
def pipeline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipeline") / "dash-demo.yaml"
    compiler.Compiler().compile(demo, str(path))
    return path


@pytest.fixture
def page(browser: Any, platform: Platform) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    opened.goto(platform.login)  # the token in the dashboard's cookie, as a user logs in
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"the page raised: {errors}"


def test_the_dashboard_is_served_at_the_root_and_its_routes_fall_back_to_it(
    platform: Platform, page: Any, shots: Path
) -> None:
    index = httpx.get(f"{platform.base}/runs/no-such-run")
    assert index.status_code == 200
    assert '<div id="app">' in index.text
    no_graph = platform.http.get(f"{platform.base}/api/v1/runs/no-such-run/graph")
    assert no_graph.status_code == 404
    assert "no pipeline is kept for run 'no-such-run'" in no_graph.json()["error"]
    missing = platform.http.get(f"{platform.base}/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")

    page.goto(platform.base + "/")
    page.get_by_role("heading", name="Runs").wait_for()
    assert page.locator("header nav a").all_inner_texts() == [
        "Runs",
        "Experiments",
        "Training jobs",
        "Models",
        "Inference services",
    ]
    page.screenshot(path=shots / "runs.png", full_page=True)

    # Every section loads from its API without an error (the page stays the same document).
    page.evaluate("window.__notReloaded = true")
    for link, heading in [
        ("Experiments", "Experiments"),
        ("Training jobs", "Training jobs"),
        ("Models", "Models"),
        ("Inference services", "Inference services"),
    ]:
        page.locator("header nav a", has_text=link).click()
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.locator("main .muted, main table").first.wait_for()
        page.wait_for_load_state("networkidle")
        errors = page.locator("main .error").all_inner_texts()
        assert errors == [], errors
        page.screenshot(path=shots / f"{link.lower().replace(' ', '-')}.png", full_page=True)
    assert page.evaluate("window.__notReloaded") is True


def test_a_run_submitted_from_the_ui_goes_live_to_succeeded_with_its_log_and_confusion_matrix(
    platform: Platform, page: Any, pipeline_file: Path, shots: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    page.goto(platform.base + "/runs")
    page.get_by_role("button", name="Submit a run").click()
    page.set_input_files("input[name=pipeline_file]", str(pipeline_file))
    page.fill("textarea[name=parameters]", json.dumps({"rows": 6, "gate": str(gate)}))
    page.fill("input[name=name]", "from the browser")
    page.screenshot(path=shots / "submit-form.png", full_page=True)
    page.get_by_role("button", name="Submit", exact=True).click()

    page.wait_for_url("**/runs/*", timeout=WAIT_MS)
    run_id = page.url.rsplit("/", 1)[1]
    page.locator("#run-graph").wait_for()
    page.evaluate(RECORD_STATES)
    # prepare waits for the gate: the page shows it running, then the test lets it go on.
    page.wait_for_function(
        "() => JSON.parse(document.getElementById('run-graph').dataset.states || '{}')"
        ".prepare === 'RUNNING'",
        timeout=WAIT_MS,
    )
    page.screenshot(path=shots / "run-running.png", full_page=True)
    gate.touch()
    page.wait_for_function(ALL_SUCCEEDED, arg=2, timeout=WAIT_MS)
    page.screenshot(path=shots / "run-succeeded.png", full_page=True)

    # The graph changed in place: the same page, never reloaded, went through the states.
    assert page.evaluate("window.__notReloaded") is True
    seen = [json.loads(s) for s in page.evaluate("window.__statesSeen")]
    assert {"prepare": "RUNNING"} in seen
    assert {"prepare": "SUCCEEDED", "train": "RUNNING"} in seen
    assert seen[-1] == {"prepare": "SUCCEEDED", "train": "SUCCEEDED"}

    # A step's log.
    page.click("a[data-step=prepare]")
    log = page.locator("#step-log")
    log.filter(has_text="prepared row 5").wait_for(timeout=WAIT_MS)
    assert "prepared row 0" in log.inner_text()
    # Its dataset's head, as a table.
    head = page.locator(".table-preview")
    head.wait_for()
    assert head.locator("thead th").all_inner_texts() == ["x", "label"]
    assert head.locator("tbody tr").nth(5).locator("td").all_inner_texts() == ["5", "1"]

    # The training step's confusion matrix, as a heat-map table, and its other artifacts.
    page.get_by_role("button", name="Re-run").wait_for()
    page.goto(f"{platform.base}/runs/{run_id}")
    page.click("a[data-step=train]")
    matrix = page.locator("#confusion-matrix")
    matrix.wait_for(timeout=WAIT_MS)
    assert matrix.locator("thead th").all_inner_texts() == ["", "cat", "dog"]
    assert matrix.locator("tbody tr").nth(0).locator("td").all_inner_texts() == ["7", "3"]
    assert matrix.locator("tbody tr").nth(1).locator("td").all_inner_texts() == ["1", "9"]
    page.locator("#roc-curve canvas").wait_for()
    page.locator(".markdown h1", has_text="Training report").wait_for()
    page.locator("#step-log").filter(has_text="accuracy 0.6").wait_for()
    page.screenshot(path=shots / "train-step.png", full_page=True)


@pytest.fixture(scope="module")
def model_version(platform: Platform, pipeline_file: Path) -> int:
    """The newest version of the model the demo pipeline registers; when no run of it has
    registered one yet (this test run alone), one is run through the HTTP API."""
    api = f"{platform.base}/api/v1"
    found = platform.http.get(f"{api}/models/{MODEL}/versions")
    if found.status_code == 404:
        submitted = platform.http.post(
            f"{api}/runs", json={"pipeline": pipeline_file.read_text()}, timeout=30
        )
        assert submitted.status_code == 202, submitted.text
        found = eventually(
            lambda: platform.http.get(f"{api}/models/{MODEL}/versions"),
            lambda r: r.status_code == 200 and bool(r.json()["versions"]),
        )
    return int(found.json()["versions"][0]["version"])


def eventually(read: Callable[[], T], ok: Callable[[T], bool], timeout: float = 120) -> T:
    """``read()`` once ``ok`` of it holds (the read model records a run a moment after it
    ends); fails with the last value."""
    deadline = time.monotonic() + timeout
    while not ok(value := read()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout:g}s: {value!r}")
        time.sleep(0.1)
    return value


def test_a_promotion_the_registry_refuses_shows_why_and_one_it_accepts_moves_the_alias(
    platform: Platform, page: Any, shots: Path, model_version: int
) -> None:
    page.goto(platform.base + "/models")
    page.locator("#models a", has_text=MODEL).click()
    row = page.locator(f"#versions tr[data-version='{model_version}']")
    row.wait_for()
    assert str(ACCURACY) in row.inner_text()

    row.locator("input[name=alias]").fill("production")
    row.locator("input[name=require]").fill("metrics.accuracy >= 0.9")
    row.get_by_role("button", name="Promote").click()
    refusal = row.locator(".promote-result.error")
    refusal.wait_for(timeout=WAIT_MS)
    assert refusal.inner_text().startswith("refused:")
    assert "accuracy" in refusal.inner_text()
    page.screenshot(path=shots / "promotion-refused.png", full_page=True)

    row.locator("input[name=require]").fill("metrics.accuracy >= 0.5")
    row.get_by_role("button", name="Promote").click()
    row.locator(".promote-result.ok").wait_for(timeout=WAIT_MS)
    page.locator(
        f"#versions tr[data-version='{model_version}'] .tag", has_text="production"
    ).wait_for()
    page.screenshot(path=shots / "promotion-accepted.png", full_page=True)


def test_a_viewer_sees_every_page_but_no_button_that_writes(
    platform: Platform, browser: Any, shots: Path, model_version: int
) -> None:
    with Client(platform.url) as client:
        secret, _ = client.create_token("dash-viewer", "viewer", expires_in=timedelta(hours=1))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{platform.base}/login?token={quote(secret, safe='')}")
        caller = page.locator("#caller[data-role=viewer]")
        caller.wait_for()
        assert caller.inner_text() == "dash-viewer · viewer (read only)"
        page.locator("#runs tbody tr").first.wait_for()
        assert page.get_by_role("button", name="Submit a run").count() == 0
        assert page.locator("#runs button").count() == 0  # no cancel, no re-run
        page.screenshot(path=shots / "runs-read-only.png", full_page=True)

        page.goto(f"{platform.base}/models/{MODEL}")
        row = page.locator(f"#versions tr[data-version='{model_version}']")
        row.wait_for()
        assert str(ACCURACY) in row.inner_text()
        assert page.locator("#versions form, #versions button").count() == 0  # no promote

        run_id = row.locator("a").first.inner_text()
        page.goto(f"{platform.base}/runs/{run_id}")
        page.locator("h1 .state").wait_for()
        page.locator("#run-graph").wait_for()
        assert page.locator(".title-row .actions button").count() == 0
        page.screenshot(path=shots / "run-read-only.png", full_page=True)
    finally:
        context.close()


def test_headrace_dashboard_prints_the_url_of_the_running_platform(
    platform: Platform, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*CLI, "dashboard", "--print", "--home", str(tmp_path), "--nats-url", platform.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == platform.base + "/"
    assert '<div id="app">' in httpx.get(done.stdout.strip()).text


def test_an_experiment_page_follows_its_trials_live_with_history_and_parallel_coordinates(
    platform: Platform, page: Any, shots: Path
) -> None:
    spec = yaml.safe_load(EXPERIMENT.read_text())
    name = spec["metadata"]["name"]
    # The page is open before the experiment exists: all it shows comes from live events.
    page.goto(f"{platform.base}/experiments/{name}")
    page.evaluate(RECORD_TRIALS)
    platform.publish(CreateExperiment(experiment_id=f"default/{name}", spec=spec))

    done = eventually(
        lambda: platform.http.get(f"{platform.base}/api/v1/tuning/experiments/{name}").json(),
        lambda view: view.get("state") in ("SUCCEEDED", "FAILED"),
    )
    assert done["state"] == "SUCCEEDED", done
    created = done["trials_created"]
    page.wait_for_function(
        """(n) => {
          const rows = [...document.querySelectorAll('#trials tbody tr')];
          const run = document.querySelector('h1 .state');
          return rows.length === n && run && run.dataset.state === 'SUCCEEDED'
            && rows.every((r) => r.querySelector('.state').dataset.state !== 'RUNNING');
        }""",
        arg=created,
        timeout=WAIT_MS,
    )
    assert page.evaluate("window.__notReloaded") is True
    counts = page.evaluate("window.__trialRows")
    assert counts[0] == 0
    assert counts[-1] == created
    page.locator("#history canvas").wait_for()
    page.locator("#parallel canvas").wait_for()
    best = done["best_trial"]["objective_value"]
    assert f"best {best:.4g}" in page.locator("section > p.muted").first.inner_text()
    page.screenshot(path=shots / "experiment.png", full_page=True)

    page.goto(f"{platform.base}/experiments")
    page.locator("#experiments a", has_text=name).wait_for()

    # Each trial ran as a training job: its page shows its replicas and, opened, their logs.
    trial = done["best_trial"]["name"]
    page.goto(f"{platform.base}/jobs")
    page.locator("#jobs a", has_text=trial).click()
    replica = page.locator("#replicas tbody tr").first
    replica.wait_for()
    assert replica.locator(".state").get_attribute("data-state") == "SUCCEEDED"
    name = replica.get_attribute("data-replica")
    replica.locator("button.log-toggle").click()
    log = page.locator(f"#log-{name}")
    page.wait_for_function(
        "(id) => (document.getElementById(id)?.textContent || '').includes('epoch=2 loss=')",
        arg=f"log-{name}",
        timeout=WAIT_MS,
    )
    assert log.inner_text().startswith("epoch=1 loss=")
    assert page.locator(".replica-log .log", has_text="complete").count() == 1
    page.screenshot(path=shots / "training-job.png", full_page=True)
    replica.locator("button.log-toggle", has_text="hide log").click()
    log.wait_for(state="detached")


def submit(platform: Platform, pipeline: Callable[..., Any], folder: Path) -> str:
    """Run ``pipeline`` through the HTTP API (as the UI's form does), without the cache (so
    its steps run, whatever ran before in this module); its run id."""
    path = folder / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    body = {"pipeline": path.read_text(), "enable_caching": False}
    submitted = platform.http.post(f"{platform.base}/api/v1/runs", json=body, timeout=30)
    assert submitted.status_code == 202, submitted.text
    return str(submitted.json()["run_id"])


def test_a_running_steps_log_streams_and_the_run_is_cancelled_and_rerun_from_the_ui(
    platform: Platform, page: Any, shots: Path, tmp_path: Path
) -> None:
    run_id = submit(platform, slow, tmp_path)
    page.goto(f"{platform.base}/runs/{run_id}")
    page.click("a[data-step=wait-long]", timeout=WAIT_MS)
    page.locator("#step-log").filter(has_text="started waiting").wait_for(timeout=WAIT_MS)
    assert page.locator("#step-panel .state").get_attribute("data-state") == "RUNNING"
    assert "streaming" in page.locator(".log").inner_text()
    # The step after it, not started yet, is drawn from the pipeline, waiting for it.
    page.wait_for_function(
        "() => document.getElementById('run-graph').dataset.pending === '[\"announce\"]'"
    )
    edges = page.locator("#run-graph").get_attribute("data-edges")
    assert json.loads(edges) == ["wait-long->announce"]
    page.screenshot(path=shots / "log-streaming.png", full_page=True)

    page.get_by_role("button", name="Cancel").click()
    page.wait_for_function(
        "() => document.querySelector('h1 .state').dataset.state === 'CANCELLED'",
        timeout=WAIT_MS,
    )
    page.locator(".log", has_text="complete").wait_for(timeout=WAIT_MS)
    page.screenshot(path=shots / "cancelled.png", full_page=True)

    page.get_by_role("button", name="Re-run").click()
    page.wait_for_url(lambda url: "/runs/" in url and not url.endswith(run_id), timeout=WAIT_MS)
    again = page.url.rsplit("/", 1)[1]
    page.wait_for_function(
        "() => ['PENDING', 'RUNNING'].includes(document.querySelector('h1 .state')?.dataset.state)",
        timeout=WAIT_MS,
    )
    assert page.locator("h1").inner_text().startswith("dash-slow")
    cancelled = platform.http.post(f"{platform.base}/api/v1/runs/{again}/cancel", timeout=30)
    assert cancelled.status_code in (200, 202), cancelled.text


def test_the_runs_page_filters_and_sorts_on_the_server(
    platform: Platform, page: Any, shots: Path, tmp_path: Path
) -> None:
    run_id = submit(platform, groups, tmp_path)
    other = submit(platform, demo, tmp_path)  # of another pipeline: filtered out
    for one in (run_id, other):
        eventually(
            lambda one=one: platform.http.get(f"{platform.base}/api/v1/runs/{one}").json(),
            lambda run: run.get("state") == "SUCCEEDED",
        )
    page.goto(platform.base + "/runs")
    page.locator(f"#runs tr[data-run='{other}']").wait_for()
    page.locator(f"#runs tr[data-run='{run_id}']").wait_for()
    page.fill("input[name=pipeline]", "dash-groups")
    page.select_option("select[name=state]", "SUCCEEDED")
    page.wait_for_function(
        """() => {
          const rows = [...document.querySelectorAll('#runs tbody tr')];
          return rows.length > 0 && rows.every((r) => r.children[2].textContent === 'dash-groups'
            && r.querySelector('.state').dataset.state === 'SUCCEEDED');
        }""",
        timeout=WAIT_MS,
    )
    page.select_option("select[name=sort]", "duration")
    page.check("input[name=asc]")
    page.locator(f"#runs tr[data-run='{run_id}']").wait_for()
    page.screenshot(path=shots / "runs-filtered.png", full_page=True)
    assert page.input_value("input[name=pipeline]") == "dash-groups"
    expected = platform.http.get(
        f"{platform.base}/api/v1/runs",
        params={"pipeline": "dash-groups", "state": "SUCCEEDED", "sort": "duration", "asc": "true"},
    ).json()
    shown = page.locator("#runs tbody tr").evaluate_all("rows => rows.map((r) => r.dataset.run)")
    assert shown == [run["run_id"] for run in expected["runs"]]


def test_a_runs_loops_and_conditions_are_drawn_as_boxes_around_their_steps(
    platform: Platform, page: Any, shots: Path, tmp_path: Path
) -> None:
    page.goto(f"{platform.base}/runs/{submit(platform, groups, tmp_path)}")
    page.wait_for_function(ALL_SUCCEEDED, arg=3, timeout=WAIT_MS)
    page.screenshot(path=shots / "groups.png", full_page=True)

    graph = page.locator("#run-graph")
    steps = json.loads(graph.get_attribute("data-states"))
    boxes = json.loads(graph.get_attribute("data-groups"))
    assert sorted(steps) == [
        "condition-3/announce",
        "for-loop-2[0]/double",
        "for-loop-2[1]/double",
    ]
    assert boxes == {
        "condition-3": "condition: condition-3",
        "for-loop-2": "loop: for-loop-2",
        "for-loop-2[0]": "iteration 0",
        "for-loop-2[1]": "iteration 1",
    }


def test_an_artifacts_lineage_page_draws_what_made_it_and_what_came_of_it(
    platform: Platform, page: Any, shots: Path, model_version: int
) -> None:
    version = platform.http.get(f"{platform.base}/api/v1/models/{MODEL}/versions").json()[
        "versions"
    ]
    uri = next(v["uri"] for v in version if v["version"] == model_version)
    page.goto(f"{platform.base}/lineage?uri={quote(uri, safe='')}")
    graph = page.locator("#lineage-graph[data-nodes]")
    graph.wait_for(timeout=WAIT_MS)
    names = set(json.loads(graph.get_attribute("data-nodes")).values())
    assert {"prepare", "train", "data", "model"} <= names
    page.screenshot(path=shots / "lineage.png", full_page=True)


def service_view(generation: int, canary: int) -> InferenceServiceView:
    """An InferenceService as the serving service announces it: a stable revision and, when
    ``canary`` is above 0, a canary taking that share of the traffic."""
    stable = RevisionView(
        name="dash-svc-predictor-00001",
        storage_uri=f"models:/{MODEL}/1",
        state="Ready",
        replicas=2,
        ready_replicas=2,
    )
    revisions = [stable]
    traffic = [TrafficView(revision=stable.name, percent=100 - canary, ready=True)]
    if canary:
        new = RevisionView(
            name="dash-svc-predictor-00002",
            storage_uri=f"models:/{MODEL}/2",
            state="Ready",
            replicas=1,
            ready_replicas=1,
        )
        revisions.insert(0, new)
        traffic.append(TrafficView(revision=new.name, percent=canary, ready=True, tag="canary"))
    return InferenceServiceView(
        name="dash-svc",
        state="Ready",
        url="http://127.0.0.1:9/v2/models/dash-svc",
        model=MODEL,
        alias="production",
        generation=generation,
        updated_at=f"2026-01-01T00:00:0{generation}Z",
        revisions=revisions,
        traffic=traffic,
    )


def test_an_inference_service_page_shows_revisions_traffic_and_replicas_live(
    platform: Platform, page: Any, shots: Path
) -> None:
    # The serving service's announcement, published on the bus as it would publish it.
    platform.publish(InferenceServiceUpdated(service=service_view(1, canary=0)))
    page.goto(platform.base + "/services")
    page.locator("#services a", has_text="dash-svc").click()
    page.locator("#revisions tbody tr").first.wait_for()
    assert page.locator("#revisions tbody tr").count() == 1
    assert "2/2" in page.locator("#revisions").inner_text()

    # Publish once the page listens: an event published before reaches it only through the
    # read model, which the page reads on connecting.
    page.locator(".live-live").wait_for(timeout=WAIT_MS)
    page.evaluate("window.__notReloaded = true")
    platform.publish(InferenceServiceUpdated(service=service_view(2, canary=20)))
    page.wait_for_function("() => document.querySelectorAll('#revisions tbody tr').length === 2")
    shares = page.locator(".traffic .share").all_inner_texts()
    assert shares == ["80%", "20%"]
    assert page.evaluate("window.__notReloaded") is True

    # The router's traffic summary (telemetry over core NATS) shows rate and latency live;
    # when no summary follows (an idle window), the page says there were no requests.
    assert page.locator("#no-requests").is_visible()
    summary = InferenceTrafficSummarized(
        service_name="dash-svc",
        window_seconds=1.0,
        revisions=[
            RevisionTraffic(revision="dash-svc-predictor-00001", requests=40, errors=1,
                            requests_per_second=40.0, p50_ms=3.2, p95_ms=12.0),
            RevisionTraffic(revision="dash-svc-predictor-00002", requests=10,
                            requests_per_second=10.0, p50_ms=4.0, p95_ms=25.0),
        ],
    )  # fmt: skip
    platform.run(platform.bus.broadcast(summary))
    page.locator("#requests tbody tr").first.wait_for()
    rows = page.locator("#requests tbody tr").all_inner_texts()
    assert [r.split("\t")[:4] for r in rows] == [
        ["dash-svc-predictor-00001", "40.0", "3.2 ms", "12 ms"],
        ["dash-svc-predictor-00002", "10.0", "4.0 ms", "25 ms"],
    ]
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=shots / "service.png", full_page=True)
    page.locator("#no-requests").wait_for(timeout=10_000)  # two windows without a summary
