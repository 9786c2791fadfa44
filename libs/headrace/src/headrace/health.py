"""Platform health from what the supervisor recorded and which replicas answered ``Ping``.

Pure: no bus, no processes; :mod:`headrace.status` feeds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .home import PlatformState
from .scale import SERVICES

if TYPE_CHECKING:  # the contracts (pydantic) load only where pongs are gathered
    from headrace_contracts import Pong

State = Literal["healthy", "unhealthy", "down"]
API_PATH = "/api/v1"  # where the metadata service's HTTP API lives under its root


@dataclass(frozen=True)
class InstanceStatus:
    instance: str
    pid: int | None
    healthy: bool
    answering: bool
    endpoints: tuple[tuple[str, str], ...] = ()
    """What the replica serves besides the bus, e.g. ``("http", "http://host:port/api/v1")``."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: State
    replicas: int
    ready: int
    instances: tuple[InstanceStatus, ...] = ()


@dataclass(frozen=True)
class PlatformStatus:
    nats_url: str
    embedded_nats: bool
    supervisor_pid: int | None
    nats_pid: int | None = None
    nats_reachable: bool = True
    services: dict[str, ServiceStatus] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return bool(self.services) and all(s.state == "healthy" for s in self.services.values())

    @property
    def dashboard_url(self) -> str | None:
        """The web dashboard's URL: the root of the first answering metadata replica's HTTP
        API (its ``http`` endpoint ends in ``/api/v1``); None when none serves HTTP."""
        metadata = self.services.get("metadata")
        for instance in metadata.instances if metadata else ():
            api = dict(instance.endpoints).get("http")
            if instance.answering and api:
                return api.removesuffix("/").removesuffix(API_PATH) + "/"
        return None

    def not_ready(self) -> list[ServiceStatus]:
        return [s for s in self.services.values() if s.state != "healthy"]

    def to_json(self) -> dict[str, Any]:
        return {
            "nats_url": self.nats_url,
            "embedded_nats": self.embedded_nats,
            "nats_reachable": self.nats_reachable,
            "supervisor_pid": self.supervisor_pid,
            "healthy": self.healthy,
            "dashboard_url": self.dashboard_url,
            "services": {
                s.name: {
                    "state": s.state,
                    "replicas": s.replicas,
                    "ready": s.ready,
                    "instances": [
                        {
                            "instance": i.instance,
                            "pid": i.pid,
                            "healthy": i.healthy,
                            "endpoints": dict(i.endpoints),
                        }
                        for i in s.instances
                    ],
                }
                for s in self.services.values()
            },
        }


def service_state(replicas: int, answering: Sequence[Pong]) -> State:
    if not answering:
        return "down"
    if len(answering) == replicas and all(p.healthy for p in answering):
        return "healthy"
    return "unhealthy"


def _unique(pongs: Sequence[Pong]) -> list[Pong]:
    seen: set[tuple[str, str, int]] = set()
    unique = []
    for pong in pongs:
        key = (pong.service, pong.instance, pong.pid)
        if key not in seen:
            seen.add(key)
            unique.append(pong)
    return unique


def _endpoints(pong: Pong | None) -> tuple[tuple[str, str], ...]:
    return () if pong is None else tuple(sorted(pong.endpoints.items()))


def _from_state(state: PlatformState, pongs: list[Pong], name: str) -> ServiceStatus:
    record = state.services[name]
    by_pid = {p.pid: p for p in pongs if p.service == name}
    instances = []
    answering = []
    for replica in record.instances:
        pong = by_pid.get(replica.pid) if replica.pid else None
        if pong is not None:
            answering.append(pong)
        instances.append(
            InstanceStatus(
                instance=replica.instance,
                pid=replica.pid,
                healthy=pong is not None and pong.healthy,
                answering=pong is not None,
                endpoints=_endpoints(pong),
            )
        )
    return ServiceStatus(
        name=name,
        state=service_state(record.replicas, answering),
        replicas=record.replicas,
        ready=len(answering),
        instances=tuple(instances),
    )


def _from_pongs(pongs: list[Pong], name: str) -> ServiceStatus:
    answering = sorted((p for p in pongs if p.service == name), key=lambda p: p.instance)
    replicas = max(1, len(answering))
    return ServiceStatus(
        name=name,
        state=service_state(replicas, answering),
        replicas=replicas,
        ready=len(answering),
        instances=tuple(
            InstanceStatus(p.instance, p.pid, p.healthy, True, _endpoints(p)) for p in answering
        ),
    )


def aggregate(
    state: PlatformState | None,
    pongs: Sequence[Pong],
    *,
    nats_url: str,
    nats_reachable: bool = True,
) -> PlatformStatus:
    """Health of every service.

    With a state file, a replica counts when the pid the supervisor recorded answers (so a
    platform sharing the same NATS cannot make this one look healthy); without one, every
    answering replica counts and each of the five services is expected at least once.
    """
    unique = _unique(pongs)
    if state is not None:
        names = list(state.services)
        services = {name: _from_state(state, unique, name) for name in names}
    else:
        names = list(SERVICES) + sorted({p.service for p in unique} - set(SERVICES))
        services = {name: _from_pongs(unique, name) for name in names}
    return PlatformStatus(
        nats_url=state.nats_url if state else nats_url,
        embedded_nats=state.embedded_nats if state else False,
        supervisor_pid=state.supervisor_pid if state else None,
        nats_pid=state.nats_pid if state else None,
        nats_reachable=nats_reachable,
        services=services,
    )
