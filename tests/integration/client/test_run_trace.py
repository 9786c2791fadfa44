"""One trace per run, down to the user's code: the scheduler's handling of SubmitRun, the
StepReady it publishes, the trainer's handling of it, the step's wait for a slot, its
execution (inputs downloaded, the user's process, outputs uploaded) and the StepSucceeded
it publishes share one trace; the component finds its span's context in TRACEPARENT (real
nats-server, scheduler, metadata and trainer, a real step process)."""

# kfp reads the annotations: no `from __future__ import annotations`.

import pytest
from client_platform import Platform, eventually
from kfp import dsl
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from headrace import Client
from headrace_metadata.app import build as build_metadata
from headrace_runtime import Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings


@dsl.component
def traced(x: int, data: dsl.Output[dsl.Dataset]) -> str:
    import os

    with open(data.path, "w") as file:
        file.write(str(x))
    return os.environ.get("TRACEPARENT", "")


@dsl.pipeline(name="traced-pipeline")
def pipeline(x: int = 3) -> str:  # type: ignore[no-untyped-def]
    return traced(x=x).outputs["Output"]


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced_platform(bare: Platform, spans: InMemorySpanExporter) -> Platform:
    settings: Settings = bare.settings
    bare.start(build_scheduler(settings, span_exporter=spans))
    bare.start(build_metadata(settings, span_exporter=spans))
    bare.start(build_trainer(settings, span_exporter=spans, trainer=TrainerSettings(concurrency=1)))
    return bare


def named(spans: list[ReadableSpan], name: str, consumer: str = "") -> ReadableSpan:
    """The one span ``name`` (of the durable consumer ``consumer``, if given)."""
    found = [
        s
        for s in spans
        if s.name == name
        and (not consumer or (s.attributes or {}).get("messaging.consumer.group.name") == consumer)
    ]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def test_a_run_is_one_trace_down_to_the_users_code(
    traced_platform: Platform, client: Client, spans: InMemorySpanExporter
) -> None:
    run = client.wait(client.submit(pipeline, {"x": 4}, enable_caching=False), timeout=120)
    assert run.state == "SUCCEEDED", run.error
    # The trainer's handling of StepReady ends once its outcome is published, a moment
    # after the scheduler may have finished the run.
    finished = eventually(
        lambda: list(spans.get_finished_spans()),
        lambda done: any(s.name == "process headrace.step.ready" for s in done),
    )

    submitted = named(finished, "process headrace.run.submit", consumer="scheduler")
    execute = named(finished, "execute traced")
    user = named(finished, "run traced")
    trace_id = submitted.context.trace_id
    for name in ("queue traced", "download traced", "upload traced"):
        assert named(finished, name).context.trace_id == trace_id
    assert execute.context.trace_id == trace_id
    # the step's execution hangs under the trainer's handling of its StepReady
    handling = next(s for s in finished if s.context.span_id == (execute.parent or 0).span_id)
    assert handling.name == "process headrace.step.ready"
    assert handling.context.trace_id == trace_id
    for name in ("download traced", "run traced", "upload traced"):
        parent = named(finished, name).parent
        assert parent is not None
        assert parent.span_id == execute.context.span_id
    assert user.attributes is not None
    assert user.attributes["headrace.run_id"] == run.run_id
    # the user's process saw its own span's context
    expected = f"00-{trace_id:032x}-{user.context.span_id:016x}-{user.context.trace_flags:02x}"
    assert run.output_parameters["Output"] == expected
    # what the trainer published after the step belongs to the same trace
    succeeded = [s for s in finished if s.name == "publish headrace.step.succeeded"]
    assert succeeded
    assert {s.context.trace_id for s in succeeded} == {trace_id}
