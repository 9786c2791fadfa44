"""The metadata service's HTTP API against the running service, after real pipelines ran:
every route, paging through ``/runs``, each refused request with its JSON reason, and the
OpenAPI document. On SQLite and (with HEADRACE_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from api_platform import Api, api_platform

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from api_platform(str(request.param), tmp_path_factory.mktemp(f"api-{request.param}"))


def test_runs_are_listed_filtered_and_sorted(api: Api) -> None:
    everything = api.ok("/runs")
    assert everything["total"] == 4
    assert everything["next_page_token"] == ""
    ids = [r["run_id"] for r in everything["runs"]]
    assert sorted(ids) == sorted([api.training_run, *api.doubling_runs])
    created = [r["created_at"] for r in everything["runs"]]
    assert created == sorted(created, reverse=True)
    assert [r["created_at"] for r in api.ok("/runs", asc="true")["runs"]] == sorted(created)

    [trained] = api.ok("/runs", experiment="vision")["runs"]
    assert (trained["run_id"], trained["pipeline_name"], trained["state"]) == (
        api.training_run,
        "api-training",
        "SUCCEEDED",
    )
    assert trained["step_states"] == {"SUCCEEDED": 3}
    assert trained["steps"] == []
    doubled = api.ok("/runs", pipeline="api-doubling", label="team=b")
    assert sorted(r["run_id"] for r in doubled["runs"]) == sorted(api.doubling_runs)
    [two] = api.ok("/runs", label=["team=b", "x=2"])["runs"]
    assert two["arguments"] == {"x": 2}
    assert two["output_parameters"] == {"Output": 4}
    assert api.ok("/runs", state="failed")["total"] == 0
    later = datetime.now(UTC).isoformat()
    assert api.ok("/runs", created_after=later)["total"] == 0
    assert api.ok("/runs", created_before=later)["total"] == 4
    by_duration = api.ok("/runs", sort="duration", asc="true")["runs"]
    durations = [r["duration_seconds"] for r in by_duration]
    assert durations == sorted(durations)


def test_paging_through_runs_visits_each_run_once(api: Api) -> None:
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"limit": 1, "label": "team=b"} | ({"page_token": token} if token else {})
        page = api.ok("/runs", **params)
        assert page["total"] == 3
        seen.extend(r["run_id"] for r in page["runs"])
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(api.doubling_runs)
    assert seen == [r["run_id"] for r in api.ok("/runs", label="team=b")["runs"]]


def test_one_run_comes_with_its_steps(api: Api) -> None:
    run = api.ok(f"/runs/{api.training_run}")
    assert (run["run_id"], run["state"], run["experiment"]) == (
        api.training_run,
        "SUCCEEDED",
        "vision",
    )
    steps = {s["step_id"]: s for s in run["steps"]}
    assert set(steps) >= {"prepare", "train", "evaluate"}
    assert {steps[s]["state"] for s in ("prepare", "train", "evaluate")} == {"SUCCEEDED"}
    assert steps["evaluate"]["output_parameters"] == {"Output": 2.0}
    [model] = steps["train"]["output_artifacts"]["model"]
    assert model["uri"]


def test_experiments_count_their_runs(api: Api) -> None:
    listed = api.ok("/experiments")
    counts = {e["name"]: e["run_count"] for e in listed["experiments"]}
    assert counts == {"Default": 3, "vision": 1}
    assert listed["total"] == 2
    assert [e["name"] for e in api.ok("/experiments", limit=1)["experiments"]] == ["Default"]


def test_artifacts_of_a_run(api: Api) -> None:
    found = api.ok("/artifacts", run_id=api.training_run)
    names = sorted(a["output_name"] for a in found["artifacts"])
    assert names == ["data", "metrics", "model"]
    assert found["total"] == 3
    assert {a["run_id"] for a in found["artifacts"]} == {api.training_run}
    assert len(api.ok("/artifacts", run_id=api.training_run, limit=2)["artifacts"]) == 2
    assert api.ok("/artifacts", run_id="no-such-run") == {"artifacts": [], "total": 0}


def test_lineage_of_the_model_and_of_a_step(api: Api) -> None:
    run = api.ok(f"/runs/{api.training_run}")
    [model] = next(s for s in run["steps"] if s["step_id"] == "train")["output_artifacts"]["model"]
    up = api.ok("/lineage", target=model["uri"], direction="upstream")
    ids = {n["id"] for n in up["nodes"]}
    assert up["roots"] == [f"artifact:{model['uri']}"]
    assert f"execution:{api.training_run}/train" in ids
    assert f"execution:{api.training_run}/prepare" in ids
    assert f"execution:{api.training_run}/evaluate" not in ids
    near = api.ok("/lineage", target=model["uri"], direction="upstream", hops=1)
    assert {n["id"] for n in near["nodes"]} == {
        f"artifact:{model['uri']}",
        f"execution:{api.training_run}/train",
    }
    down = api.ok("/lineage", target=f"{api.training_run}/evaluate", direction="upstream")
    assert f"artifact:{model['uri']}" in {n["id"] for n in down["nodes"]}
    models_only = api.ok(
        "/lineage",
        target=f"{api.training_run}/evaluate",
        direction="upstream",
        artifact_type="system.Model",
    )
    kinds = {(n["kind"], n["type"]) for n in models_only["nodes"] if n["kind"] == "artifact"}
    assert kinds == {("artifact", "system.Model")}


def test_models_and_their_versions(api: Api) -> None:
    listed = api.ok("/models")
    assert [m["name"] for m in listed["models"]] == ["api-model"]
    model = api.ok("/models/api-model")
    assert (model["name"], model["latest_version"], model["version_count"]) == (
        "api-model",
        1,
        1,
    )
    versions = api.ok("/models/api-model/versions")
    [version] = versions["versions"]
    assert (version["version"], version["state"], version["run_id"], version["step_id"]) == (
        1,
        "LIVE",
        api.training_run,
        "train",
    )
    assert api.ok("/models/api-model/versions", state="archived")["versions"] == []


def test_bad_requests_are_refused_with_the_reason(api: Api) -> None:
    assert api.refused("/runs", page_token="garbage!") == (
        "page_token 'garbage!' is not a page token of this listing: pass the next_page_token "
        "of the previous page (same filters and sort), or leave it out"
    )
    token = api.ok("/runs", limit=1)["next_page_token"]
    assert "continues a listing sorted by created (descending)" in api.refused(
        "/runs", page_token=token, sort="duration"
    )
    assert api.refused("/runs", sort="size") == (
        "sort 'size' is not known: sort by created, finished, duration"
    )
    assert api.refused("/runs", colour="red") == (
        "unknown query parameter 'colour' on /api/v1/runs: it takes asc, created_after, "
        "created_before, experiment, label, limit, page_token, pipeline, sort, state "
        "(see /api/v1/docs)"
    )
    assert api.refused("/runs", limit=-1) == (
        "query parameter 'limit': input should be greater than or equal to 1 (got '-1'); "
        "fix it or leave it out (see /api/v1/docs)"
    )
    assert "query parameter 'limit': input should be a valid integer" in api.refused(
        "/runs", limit="ten"
    )
    assert api.refused("/runs", label="team") == (
        "label 'team' is not KEY=VALUE: pass label=KEY=VALUE, e.g. label=team=vision"
    )
    assert api.refused("/runs", state="DONE").startswith("state 'DONE' is not known: one of")
    assert "query parameter 'created_after'" in api.refused("/runs", created_after="yesterday")
    assert api.refused("/artifacts", limit=0).startswith("query parameter 'limit'")
    assert api.refused("/lineage") == (
        "query parameter 'target' is required: pass target=VALUE (see /api/v1/docs)"
    )
    assert "query parameter 'direction'" in api.refused("/lineage", target="r", direction="up")
    assert api.refused("/models/api-model/versions", state="gone") == (
        "state 'gone' is not a version state: pass LIVE or ARCHIVED"
    )


def test_unknown_things_are_404_with_the_reason(api: Api) -> None:
    assert api.refused("/runs/no-such-run", 404) == (
        "no run 'no-such-run' is known to the metadata service: check the id "
        "(GET /api/v1/runs lists the runs)"
    )
    no_model = (
        "no model 'nope' is registered in namespace 'default': check the name "
        "(GET /api/v1/models lists them)"
    )
    assert api.refused("/models/nope", 404) == no_model
    assert api.refused("/models/nope/versions", 404) == no_model
    assert api.refused("/lineage", 404, target="no-such-run") == (
        "no run no-such-run is recorded in lineage: check the run id (`headrace run list`)"
    )
    assert api.refused("/lineage", 404, target="s3://nowhere/x").startswith(
        "no artifact with URI s3://nowhere/x is recorded in lineage"
    )
    assert api.refused("/pipelines", 404) == (
        "no such path /api/v1/pipelines: the API is described at /api/v1/docs"
    )
    response = api.http.post(f"{api.base}/experiments")
    assert (response.status_code, response.json()) == (
        405,
        {"error": "POST is not allowed on /api/v1/experiments: use GET"},
    )


def test_the_openapi_document_lists_every_route(api: Api) -> None:
    document = api.ok("/openapi.json")
    assert document["info"]["title"] == "Headrace metadata API"
    assert set(document["paths"]) == {
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
        "/api/v1/experiments",
        "/api/v1/artifacts",
        "/api/v1/lineage",
        "/api/v1/models",
        "/api/v1/models/{name}",
        "/api/v1/models/{name}/versions",
        "/api/v1/inferenceservices",
        "/api/v1/inferenceservices/{name}",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/events",
        "/api/v1/runs/{run_id}/cancel",
        "/api/v1/runs/{run_id}/rerun",
        "/api/v1/models/{name}/promote",
        "/api/v1/tuning/experiments",
        "/api/v1/tuning/experiments/{name}",
        "/api/v1/tuning/experiments/{name}/trials",
        "/api/v1/jobs",
        "/api/v1/jobs/{name}",
        "/api/v1/jobs/{name}/replicas/{replica}/log",
        "/api/v1/jobs/{name}/replicas/{replica}/log/stream",
        "/api/v1/runs/{run_id}/steps/{step_id}/log",
        "/api/v1/runs/{run_id}/steps/{step_id}/log/stream",
        "/api/v1/artifacts/{artifact_id}/preview",
        "/api/v1/runs/{run_id}/graph",
        "/api/v1/whoami",
    }
    runs = document["paths"]["/api/v1/runs"]["get"]
    assert {p["name"] for p in runs["parameters"]} >= {"state", "label", "page_token", "limit"}
    assert "RunList" in document["components"]["schemas"]
    assert "InferenceServiceView" in document["components"]["schemas"]
    dashboard = {"RunAccepted", "SubmitBody", "Preview", "PromoteBody", "PromotionOutcome"}
    dashboard |= {"TrialPage", "ExperimentList", "ExperimentView", "TrainingJobList", "ErrorBody"}
    dashboard |= {"RunGraph", "GraphTask"}
    assert dashboard <= set(document["components"]["schemas"])
    paths = document["paths"]
    assert "text/event-stream" in paths["/api/v1/events"]["get"]["responses"]["200"]["content"]
    assert set(paths["/api/v1/runs"]) == {"get", "post"}
    assert paths["/api/v1/runs/{run_id}/cancel"]["post"]["responses"]["409"]
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
