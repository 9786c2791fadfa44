"""``headrace status`` shows what each replica serves besides the bus (the metadata
service's HTTP API), in its table and its JSON."""

from __future__ import annotations

from headrace.health import aggregate
from headrace.report import render_table
from headrace_contracts import Pong

URL = "nats://127.0.0.1:4222"
API = "http://127.0.0.1:8765/api/v1"


def test_a_replicas_http_url_is_in_the_table_and_the_json() -> None:
    pongs = [
        Pong(service="metadata", instance="metadata-a", pid=7, endpoints={"http": API}),
        Pong(service="scheduler", instance="scheduler-a", pid=8),
    ]
    status = aggregate(None, pongs, nats_url=URL)
    table = render_table(status).splitlines()
    assert f"metadata http  {API} (metadata-a)" in table
    assert "dashboard   http://127.0.0.1:8765/" in table
    assert sum("http://" in line for line in table) == 2
    assert status.to_json()["dashboard_url"] == "http://127.0.0.1:8765/"
    [instance] = status.to_json()["services"]["metadata"]["instances"]
    assert instance == {
        "instance": "metadata-a",
        "pid": 7,
        "healthy": True,
        "endpoints": {"http": API},
    }
    [other] = status.to_json()["services"]["scheduler"]["instances"]
    assert other["endpoints"] == {}


def test_without_a_metadata_replica_serving_http_there_is_no_dashboard_url() -> None:
    pongs = [Pong(service="metadata", instance="metadata-a", pid=7)]
    status = aggregate(None, pongs, nats_url=URL)
    assert status.dashboard_url is None
    assert "dashboard" not in render_table(status)
