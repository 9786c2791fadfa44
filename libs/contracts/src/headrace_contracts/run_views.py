"""What the platform answers about runs (area ``run``): request/reply, never stored.

The scheduler answers ``GetRun`` (a run in flight, with every step); the metadata service
answers ``ListRuns`` from its run read model.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from .base import Query, Reply
from .common import ArtifactRef, JsonValue, Value

RUN_STATES = ("PENDING", "RUNNING", "CANCELLING", "SUCCEEDED", "FAILED", "CANCELLED", "REJECTED")
RUN_FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "REJECTED"})
STEP_STATES = (
    "PENDING",
    "READY",
    "RUNNING",
    "SUCCEEDED",
    "CACHED",
    "FAILED",
    "SKIPPED",
    "CANCELLED",
)


class StepView(Value):
    """One node of a run: a container or importer step, a sub-DAG, a loop or an iteration."""

    step_id: str
    task_name: str
    kind: str = Field(description="container, importer, dag, loop or iteration")
    parent: str = Field(default="", description="step_id of the enclosing DAG ('' for root)")
    state: str
    attempts: int = 0
    cached: bool = False
    cache_source_run_id: str = ""
    output_parameters: dict[str, JsonValue] = Field(default_factory=dict)
    output_artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)
    log_uri: str = ""
    worker: str = Field(default="", description="launcher instance that ran the last attempt")
    reason: str = ""
    exit_code: int | None = None
    started_at: str = ""
    finished_at: str = ""
    duration_seconds: float | None = None


class RunView(Value):
    run_id: str
    state: str
    display_name: str = ""
    pipeline_name: str = ""
    experiment: str = ""
    arguments: dict[str, JsonValue] = Field(default_factory=dict)
    enable_caching: bool = True
    created_at: str = ""
    finished_at: str = ""
    error: str = ""
    output_parameters: dict[str, JsonValue] = Field(default_factory=dict)
    output_artifacts: dict[str, list[ArtifactRef]] = Field(default_factory=dict)
    steps: list[StepView] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    started_at: str = ""
    duration_seconds: float | None = Field(
        default=None, description="from start (else creation) to end; None until it ends"
    )
    step_count: int = Field(
        default=0, description="the pipeline's container and importer tasks (a loop body once)"
    )
    step_states: dict[str, int] = Field(
        default_factory=dict,
        description="how many container and importer steps are in each state (ListRuns)",
    )


class RunDetail(Reply):
    run: RunView | None = Field(default=None, description="None when no such run is known")


class GetRun(Query):
    """One run with all its steps (or without them)."""

    AREA = "run"
    NAME = "get"
    REPLY = RunDetail

    run_id: str
    steps: bool = Field(
        default=True,
        description="False: the run without its steps, cheap to ask for however large it is "
        "(a run of thousands of steps does not fit in one NATS message)",
    )


RUN_SORTS = ("created", "finished", "duration")


class RunList(Reply):
    runs: list[RunView] = Field(default_factory=list, description="without their steps")
    total: int = Field(default=0, description="how many runs match, over all pages")
    next_page_token: str = Field(default="", description="ask for it to get the next page")
    error: str = Field(default="", description="why the query was refused (no runs then)")


class ListRuns(Query):
    """Runs matching every filter given, newest first unless ``sort``/``ascending`` say
    otherwise, one page at a time (answered by the metadata service)."""

    AREA = "run"
    NAME = "list"
    REPLY = RunList

    state: str = ""
    experiment: str = ""
    limit: int = Field(default=50, ge=1, le=10_000)
    pipeline: str = Field(default="", description="the pipeline's name")
    labels: dict[str, str] = Field(default_factory=dict, description="runs with all of them")
    created_after: datetime | None = Field(default=None, description="created at or after")
    created_before: datetime | None = Field(default=None, description="created before")
    sort: str = Field(default="created", description="created, finished or duration")
    ascending: bool = False
    page_token: str = Field(default="", description="next_page_token of the previous page")


class RunExperiment(Value):
    """A pipeline experiment (``SubmitRun.experiment``) as the run read model knows it: the
    runs filed under its name. Not a tuning experiment."""

    name: str
    run_count: int = 0
    last_created_at: str = Field(default="", description="when its newest run was created")


class RunExperimentList(Reply):
    experiments: list[RunExperiment] = Field(default_factory=list, description="by name")
    total: int = Field(default=0, description="how many experiments there are, over all pages")
