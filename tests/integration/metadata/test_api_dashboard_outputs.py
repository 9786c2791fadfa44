"""What the dashboard shows of runs' outputs, against a real platform (scheduler, trainer,
metadata service on a real nats-server): a step's log during and after its run (by offset,
and streamed), previews of artifacts real kfp components wrote, and promoting models
through the registry's gate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_pipelines import artifacts, talking
from dashboard_platform import Dash, Events, dashboard_platform, eventually

from headrace.run_source import load_source


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    with dashboard_platform(tmp_path_factory.mktemp("dash-outputs")) as made:
        yield made


def submit(dash: Dash, pipeline: object, parameters: dict[str, object] | None = None) -> str:
    accepted = dash.post(
        "/runs", {"pipeline": load_source(pipeline)[0], "parameters": parameters or {}}
    )
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["run_id"])


def test_a_steps_log_is_read_during_and_after_its_run(dash: Dash, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run_id = submit(dash, talking, {"gate": str(gate)})
    path = f"/runs/{run_id}/steps/chatty/log"

    def log_now() -> tuple[str, dict[str, str]]:
        response = dash.get(path)
        if response.status_code == 404:  # the read model has not recorded the step yet
            assert "has no step 'chatty' (yet)" in response.text
            return "", {}
        assert response.status_code == 200, response.text
        return response.text, dict(response.headers)

    text, headers = eventually(log_now, lambda found: "first line" in found[0], timeout=60)
    assert headers["x-log-complete"] == "false"
    assert int(headers["x-log-size"]) == len(text.encode())
    assert "last line" not in text
    size = len(text.encode())
    stream = Events(
        f"{dash.base}{path}/stream",
        {"offset": str(size)},
        first_comment=False,
        headers=dict(dash.http.headers),
    )
    try:
        gate.write_text("go")
        stream.wait(lambda: stream.ended, what="the end of the log stream")
        kinds = [e["event"] for e in stream.received]
        assert kinds[-1] == "end"
        assert stream.received[-1]["data"]["state"] == "SUCCEEDED"
        pieces = [e["data"] for e in stream.received if e["event"] == "log"]
        assert pieces[0]["offset"] == size
        streamed = "".join(p["text"] for p in pieces)
        assert "last line" in streamed
        assert "first line" not in streamed
    finally:
        stream.close()

    assert dash.client.wait(run_id, timeout=60).state == "SUCCEEDED"
    whole, headers = eventually(log_now, lambda found: found[1].get("x-log-complete") == "true")
    assert whole.index("first line") < whole.index("last line")
    assert whole.endswith(streamed)
    rest = dash.get(path, offset=size)
    assert rest.text == whole.encode()[size:].decode()
    assert rest.headers["x-log-size"] == str(len(whole.encode()))
    beyond = dash.get(path, offset=10**9)
    assert (beyond.status_code, beyond.text) == (200, "")


def test_log_refusals(dash: Dash) -> None:
    assert "no run 'nope'" in dash.error(dash.get("/runs/nope/steps/x/log"), 404)
    run_id = dash.ok("/runs", limit=1)["runs"][0]["run_id"]
    missing = dash.get(f"/runs/{run_id}/steps/no-step/log")
    assert "has no step 'no-step'" in dash.error(missing, 404)
    negative = dash.get(f"/runs/{run_id}/steps/chatty/log", offset=-1)
    assert "offset" in dash.error(negative, 400)


def test_previews_of_what_kfp_components_wrote(dash: Dash) -> None:
    run_id = submit(dash, artifacts)
    assert dash.client.wait(run_id, timeout=90).state == "SUCCEEDED"
    listed = eventually(
        lambda: dash.ok("/artifacts", run_id=run_id)["artifacts"], lambda found: len(found) >= 6
    )
    ids = {a["output_name"]: a["event_id"] for a in listed}

    def preview(name: str) -> dict[str, object]:
        found: dict[str, object] = dash.ok(f"/artifacts/{ids[name]}/preview")
        return found

    metrics = preview("metrics")
    assert metrics["kind"] == "metrics"
    assert metrics["schema_title"] == "system.Metrics"
    assert {(m["name"], m["value"]) for m in metrics["metrics"]} == {  # type: ignore[attr-defined]
        ("accuracy", 0.75),
        ("loss", 0.5),
    }
    cm = preview("cm")
    assert cm["kind"] == "classification"
    assert cm["categories"] == ["cat", "dog"]
    assert cm["matrix"] == [[5, 1], [2, 7]]
    assert cm["roc"] == [
        {"threshold": 1.0, "fpr": 0.0, "tpr": 0.0},
        {"threshold": 0.5, "fpr": 0.5, "tpr": 0.8},
        {"threshold": 0.0, "fpr": 1.0, "tpr": 1.0},
    ]
    page = preview("page")
    assert (page["kind"], page["content"], page["truncated"]) == ("html", "<h1>report</h1>", False)
    notes = preview("notes")
    assert (notes["kind"], notes["content"]) == ("markdown", "# notes\n\nall good")
    table = preview("table")
    assert table["kind"] == "table"
    assert table["columns"] == ["id", "score"]
    assert table["rows"] == [[str(i), str(i / 10)] for i in range(20)]
    assert table["truncated"] is True
    blob = preview("blob")
    assert (blob["kind"], blob["size"]) == ("binary", 256)

    by_uri = next(a for a in listed if a["output_name"] == "page")["artifact"]["uri"]
    assert dash.ok(f"/artifacts/{quote(by_uri, safe='')}/preview")["content"] == "<h1>report</h1>"
    unknown = dash.get("/artifacts/no-such-artifact/preview")
    assert "no artifact 'no-such-artifact'" in dash.error(unknown, 404)


def test_promotion_through_the_registrys_gate(dash: Dash) -> None:
    dash.client.register_model("dash-model", "file:///models/dash/1", metrics={"accuracy": 0.8})
    moved = dash.post("/models/dash-model/promote", {"version": 1, "alias": "production"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["promoted"], body["version"], body["alias"]) == (True, 1, "production")
    assert body["uri"] == "file:///models/dash/1"
    assert dash.client.resolve_model("models:/dash-model@production") == "file:///models/dash/1"

    gated = dash.post(
        "/models/dash-model/promote",
        {"version": 1, "alias": "champion", "require": "metrics.accuracy >= 0.95"},
    )
    assert gated.status_code == 409, gated.text
    refused = gated.json()
    assert refused["promoted"] is False
    assert refused["reason"] == (
        "version 1 of 'dash-model' does not meet 'metrics.accuracy >= 0.95' "
        "(its metrics: accuracy=0.8)"
    )
    unknown = dash.post("/models/dash-model/promote", {"version": 9})
    assert unknown.status_code == 409
    assert "9" in unknown.json()["reason"]
    bad = dash.post("/models/dash-model/promote", {"version": 1, "require": "metrics.a >="})
    assert "not valid CEL" in dash.error(bad, 400)
    no_version = dash.post("/models/dash-model/promote", {"alias": "production"})
    assert "'version' is required" in dash.error(no_version, 400)
    assert json.loads(dash.get("/models/dash-model").text)["aliases"]["production"] == 1
