"""What the backend knows of one gang it started or adopted (pure bookkeeping, on the loop).

A `GangRecord` holds the gang's Jobs (as created or listed), each replica's latest state, the
events reported so far (so that `events` can replay them from the start) and whether every
replica has ended. `report` takes the observer's events and keeps exactly one ``started``
and one ``exited`` per replica, from the gang's own attempt; `end_unseen` ends the replicas
no pod was ever seen for (their Job failed or was deleted before making one).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..base import GangEvent, GangHandle, Phase, ReplicaState
from .objects import ANNOTATION_LOG_KEYS, role_of

__all__ = ["GangRecord", "JobInfo"]


@dataclass(frozen=True)
class JobInfo:
    """One Job of the gang: its name, its pods' role, how many and their main container."""

    name: str
    role: str
    completions: int
    container: str

    @staticmethod
    def of(job: dict[str, Any]) -> JobInfo:
        spec = job.get("spec") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
        return JobInfo(
            name=str(job["metadata"]["name"]),
            role=role_of(job),
            completions=int(spec.get("completions") or 1),
            container=str(containers[0].get("name") or ""),
        )


@dataclass
class GangRecord:
    id: str
    attempt: int
    namespace: str
    parent: dict[str, Any]
    shared_parent: bool
    jobs: list[JobInfo]
    children: list[dict[str, Any]]
    log_keys: dict[str, str]
    adopted: bool = False
    states: dict[str, ReplicaState] = field(default_factory=dict)
    exited: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)
    pods: dict[str, str] = field(default_factory=dict)  # replica name -> pod name
    history: list[GangEvent] = field(default_factory=list)
    live_jobs: set[str] = field(default_factory=set)
    stopping: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    jobs_gone: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for job in self.jobs:
            for index in range(job.completions):
                self.states[f"{job.role}-{index}"] = ReplicaState(role=job.role, index=index)
        self.live_jobs = {job.name for job in self.jobs}

    @staticmethod
    def log_keys_of(jobs: Iterable[dict[str, Any]]) -> dict[str, str]:
        keys: dict[str, str] = {}
        for job in jobs:
            text = ((job.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_LOG_KEYS)
            try:
                found = json.loads(text) if text else {}
            except ValueError:
                found = {}
            if isinstance(found, dict):
                keys.update({str(k): str(v) for k, v in found.items()})
        return keys

    def container_of(self, role: str) -> str:
        return next((job.container for job in self.jobs if job.role == role), "")

    def handle(self) -> GangHandle:
        return GangHandle(self.id, self.attempt, self.replica_states(), adopted=self.adopted)

    def replica_states(self) -> tuple[ReplicaState, ...]:
        return tuple(self.states.values())

    def report(self, events: Iterable[GangEvent]) -> list[GangEvent]:
        """Keep the observer's events of this gang's attempt; those that changed something."""
        kept: list[GangEvent] = []
        for event in events:
            name = event.replica.name
            if event.gang_id != self.id or event.attempt != self.attempt:
                continue
            if name not in self.states or name in self.exited:
                continue
            if event.kind == "started":
                if name in self.started:
                    continue
                self.started.add(name)
            final = event.replica.phase.final
            if event.kind == "exited" or (event.kind == "adopted" and final):
                self.exited.add(name)
            if event.kind == "adopted" and event.replica.phase is not Phase.PENDING:
                self.started.add(name)
            self.states[name] = event.replica
            self.history.append(event)
            kept.append(event)
        if kept:
            self._changed()
        return kept

    def end_unseen(self, reason: str, *, role: str | None = None) -> list[GangEvent]:
        """End every replica (of ``role``) that has not ended and has no pod: FAILED."""
        ended = []
        for name, state in self.states.items():
            if name in self.exited or name in self.pods or (role and state.role != role):
                continue
            ended.append(
                GangEvent(
                    self.id,
                    self.attempt,
                    "exited",
                    dataclasses.replace(state, phase=Phase.FAILED, reason=reason),
                )
            )
        return self.report(ended)

    def end_all(self, reason: str) -> list[GangEvent]:
        """End every replica not ended yet (its pod gone unseen): FAILED with ``reason``."""
        ended = [
            GangEvent(
                self.id,
                self.attempt,
                "exited",
                dataclasses.replace(state, phase=Phase.FAILED, reason=state.reason or reason),
            )
            for name, state in self.states.items()
            if name not in self.exited
        ]
        return self.report(ended)

    def _changed(self) -> None:
        if len(self.exited) == len(self.states):
            self.done.set()
        self.changed.set()
        self.changed = asyncio.Event()
