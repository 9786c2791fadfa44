"""Wiring step environments into the trainer service: built from settings, answering
``ListEnvironments`` / ``PruneEnvironments``, fork servers stopped with the service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import uv

from headrace_contracts import (
    EnvironmentList,
    EnvironmentsPruned,
    ListEnvironments,
    PruneEnvironments,
)
from headrace_runtime import Service

from ..config import TrainerSettings
from .build import BuildOptions, platform_site_dirs
from .manager import StepEnvironments

__all__ = ["environments_for"]


def environments_for(service: Service, root: Path, config: TrainerSettings) -> StepEnvironments:
    """The step environments of ``service`` under ``root``, registered on it."""
    options = BuildOptions(
        uv=uv.find_uv_bin(),
        base_site=platform_site_dirs(),
        find_links=tuple(config.find_links),
        index_url=config.index_url,
        offline=config.offline,
        http_timeout=config.install_http_timeout_seconds,
        http_retries=config.install_http_retries,
    )
    environments = StepEnvironments(
        root,
        options,
        install_timeout=config.install_timeout_seconds,
        fork_server=config.fork_server,
        warm_limit=config.warm_environments,
    )

    @service.answers(ListEnvironments)
    async def list_environments(_: ListEnvironments) -> EnvironmentList:
        return EnvironmentList(environments=await asyncio.to_thread(environments.views))

    @service.answers(PruneEnvironments)
    async def prune_environments(query: PruneEnvironments) -> EnvironmentsPruned:
        return await environments.prune(query.digests, query.older_than_seconds)

    @service.on_stop
    async def stop_environments() -> None:
        await environments.close()

    return environments
