"""Retention of finished runs: by age and/or count, removes their read model rows, their
lineage (unless a registered model version came from them) and, when asked, their folders in
the artifact store; periodically (one replica at a time) and on ``PruneRuns``."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlmodel import SQLModel

from headrace_artifacts import ArtifactStore, open_store
from headrace_contracts import PruneReport, PruneRuns
from headrace_runtime import Service

from .lock import RetentionLock
from .policy import FinishedRun, Policy, select_runs
from .prune import prune
from .settings import RetentionSettings
from .sweeper import Busy, Sweeper, locked_prune

__all__ = [
    "TABLES",
    "FinishedRun",
    "Policy",
    "RetentionSettings",
    "prune",
    "register",
    "select_runs",
]

TABLES: list[type[SQLModel]] = [RetentionLock]


def register(service: Service, config: RetentionSettings | None = None) -> None:
    """Sweep periodically while ``service`` runs, and answer ``PruneRuns``."""
    config = config or RetentionSettings()

    def engine() -> Engine:
        assert service.engine is not None
        return service.engine

    def store() -> ArtifactStore:
        settings = service.settings
        return open_store(settings.artifacts_root(), **settings.s3_options())

    sweeper = Sweeper(engine, service.instance, config, store)

    @service.on_start
    async def start() -> None:
        sweeper.start()

    service.on_stop(sweeper.stop)

    @service.answers(PruneRuns)
    async def answer(query: PruneRuns) -> PruneReport:
        policy = Policy(older_than_seconds=query.older_than_seconds, keep=query.keep)
        if policy.is_off:
            policy = config.policy()
        if policy.is_off:
            return PruneReport(
                dry_run=query.dry_run,
                error="no retention policy: pass --older-than AGE and/or --keep N, or set "
                "HEADRACE_METADATA_RETAIN_DAYS / HEADRACE_METADATA_RETAIN_RUNS on the "
                "metadata service",
            )
        try:
            return await asyncio.to_thread(
                locked_prune,
                engine(),
                service.instance,
                config,
                policy,
                dry_run=query.dry_run,
                store=store if query.delete_artifacts else None,
            )
        except Busy:
            return PruneReport(
                dry_run=query.dry_run,
                error="another metadata replica is pruning runs right now: try again in a moment",
            )
