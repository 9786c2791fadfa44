"""Retention of finished runs (area ``run``): ``PruneRuns`` asks the metadata service to
remove finished runs by age and/or count, and answers with what was (or, dry, would be)
removed. Request/reply, never stored."""

from __future__ import annotations

from pydantic import Field

from .base import Query, Reply


class PruneReport(Reply):
    """What a prune removed (``dry_run``: would remove). ``kept_lineage`` are pruned runs
    whose lineage and artifacts stay because a registered model version came from them."""

    dry_run: bool = False
    runs: list[str] = Field(default_factory=list, description="run ids removed, oldest first")
    kept_lineage: list[str] = Field(default_factory=list)
    run_rows: int = 0
    step_rows: int = 0
    lineage_executions: int = 0
    lineage_events: int = 0
    lineage_artifacts: int = 0
    artifact_rows: int = 0
    stored_artifacts_deleted: int = Field(
        default=0, description="runs/<run_id>/ folders removed from the artifact store"
    )
    error: str = Field(default="", description="why nothing was pruned, and what to do")


class PruneRuns(Query):
    """Remove finished runs (SUCCEEDED, FAILED, CANCELLED, REJECTED) that finished more than
    ``older_than_seconds`` ago and/or are not among the newest ``keep`` finished runs. With
    neither, the service's configured policy applies (``HEADRACE_METADATA_RETAIN_*``).
    ``delete_artifacts`` also removes their ``runs/<run_id>/`` folders from the artifact
    store; ``dry_run`` only reports."""

    AREA = "run"
    NAME = "prune"
    REPLY = PruneReport

    older_than_seconds: float | None = Field(default=None, gt=0)
    keep: int | None = Field(default=None, ge=0)
    delete_artifacts: bool = False
    dry_run: bool = False
