"""Platform health from the state file and the Pongs that answered, and how it is printed."""

from __future__ import annotations

from pathlib import Path

from headrace.health import aggregate, service_state
from headrace.home import Home, PlatformState, Replica, ServiceRecord
from headrace.report import explain_not_ready, render_table
from headrace.scale import SERVICES
from headrace_contracts import Pong

URL = "nats://127.0.0.1:4222"


def make_state(replicas: dict[str, int] | None = None) -> PlatformState:
    wanted = replicas or dict.fromkeys(SERVICES, 1)
    pid = 1000
    services = {}
    for name, n in wanted.items():
        instances = []
        for i in range(n):
            pid += 1
            instances.append(Replica(instance=f"{name}-{i}", pid=pid))
        services[name] = ServiceRecord(replicas=n, instances=instances)
    return PlatformState(
        supervisor_pid=10,
        nats_url=URL,
        embedded_nats=True,
        nats_pid=11,
        started_at="2025-01-01T00:00:00+00:00",
        services=services,
    )


def pongs_for(state: PlatformState, *, healthy: bool = True) -> list[Pong]:
    return [
        Pong(service=name, instance=r.instance, pid=r.pid or 0, healthy=healthy)
        for name, record in state.services.items()
        for r in record.instances
    ]


def test_every_recorded_replica_answering_is_healthy() -> None:
    state = make_state({**dict.fromkeys(SERVICES, 1), "metadata": 2})
    status = aggregate(state, pongs_for(state), nats_url="ignored")
    assert status.healthy
    assert status.nats_url == URL
    assert status.embedded_nats
    assert status.supervisor_pid == 10
    metadata = status.services["metadata"]
    assert (metadata.state, metadata.replicas, metadata.ready) == ("healthy", 2, 2)


def test_a_missing_replica_makes_its_service_unhealthy_and_none_makes_it_down() -> None:
    state = make_state({**dict.fromkeys(SERVICES, 1), "metadata": 2})
    pongs = [p for p in pongs_for(state) if p.instance not in ("metadata-1", "tuner-0")]
    status = aggregate(state, pongs, nats_url=URL)
    assert not status.healthy
    assert status.services["metadata"].state == "unhealthy"
    assert status.services["metadata"].ready == 1
    assert status.services["tuner"].state == "down"
    assert [s.name for s in status.not_ready()] == ["tuner", "metadata"]
    [_, second] = status.services["metadata"].instances
    assert (second.instance, second.answering, second.healthy) == ("metadata-1", False, False)


def test_a_replica_reporting_unhealthy_is_not_ready() -> None:
    state = make_state()
    status = aggregate(state, pongs_for(state, healthy=False), nats_url=URL)
    assert {s.state for s in status.services.values()} == {"unhealthy"}


def test_pongs_from_processes_the_supervisor_did_not_start_do_not_count() -> None:
    state = make_state()
    stranger = Pong(service="metadata", instance="metadata-0", pid=99999)
    status = aggregate(state, [*pongs_for(state)[:-1], stranger], nats_url=URL)
    assert status.services["metadata"].state == "down"


def test_duplicate_pongs_count_once() -> None:
    state = make_state()
    pongs = pongs_for(state)
    assert aggregate(state, pongs + pongs, nats_url=URL).healthy


def test_without_state_whatever_answers_counts_and_each_service_is_expected() -> None:
    pongs = [
        Pong(service="metadata", instance="m-b", pid=2),
        Pong(service="metadata", instance="m-a", pid=1),
        Pong(service="scheduler", instance="s", pid=3),
    ]
    status = aggregate(None, pongs, nats_url=URL)
    assert status.nats_url == URL
    assert not status.embedded_nats
    assert status.supervisor_pid is None
    assert list(status.services) == list(SERVICES)
    assert status.services["metadata"].ready == 2
    assert [i.instance for i in status.services["metadata"].instances] == ["m-a", "m-b"]
    assert status.services["trainer"].state == "down"
    assert not status.healthy


def test_service_state_rules() -> None:
    assert service_state(1, []) == "down"
    assert service_state(2, [Pong(service="x", instance="a", pid=1)]) == "unhealthy"


def test_json_shape() -> None:
    state = make_state()
    data = aggregate(state, pongs_for(state), nats_url=URL).to_json()
    assert data["nats_url"] == URL
    assert data["embedded_nats"] is True
    assert data["supervisor_pid"] == 10
    assert set(data["services"]) == set(SERVICES)
    assert data["services"]["scheduler"] == {
        "state": "healthy",
        "replicas": 1,
        "ready": 1,
        "instances": [{"instance": "scheduler-0", "pid": 1001, "healthy": True, "endpoints": {}}],
    }


def test_table_and_not_ready_explanation(tmp_path: Path) -> None:
    state = make_state()
    pongs = [p for p in pongs_for(state) if p.service != "serving"]
    status = aggregate(state, pongs, nats_url=URL)
    table = render_table(status)
    assert f"{URL} (embedded, pid 11)" in table
    assert "serving    down     0/1    serving-0 (pid 1004, not answering)" in table
    assert "metadata   healthy  1/1    metadata-0 (pid 1005)" in table
    home = Home(tmp_path)
    explanation = explain_not_ready(status, home)
    assert explanation == (
        f"  serving: down (no replica answers); logs: {tmp_path / 'logs' / 'serving-0.log'}"
    )


def test_unreachable_nats_is_shown() -> None:
    status = aggregate(None, [], nats_url=URL, nats_reachable=False)
    assert "NOT REACHABLE" in render_table(status)
    assert explain_not_ready(status, Home(Path("/h"))).startswith(f"  NATS at {URL} does not")
    assert status.to_json()["nats_reachable"] is False
