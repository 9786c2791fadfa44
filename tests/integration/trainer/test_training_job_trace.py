"""A training job's replicas join the trace of its submission: the trainer (a process of its
own, exporting over OTLP through ``OTEL_EXPORTER_OTLP_ENDPOINT`` to a receiver in this test)
handles the SubmitTrainingJob a caller's span carried, each replica of the gang is a span
``replica <role>-<index>`` under that handling, and each replica's process finds its span in
``TRACEPARENT`` and adds a span of its own (real nats-server, trainer and replica processes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from job_support import TrainerProcess, pytorch_job, script, write_manifest
from opentelemetry.sdk.trace import TracerProvider

from headrace import Client
from headrace_contracts import SubmitTrainingJob
from headrace_testing import nats_for_test
from headrace_testing.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver

pytestmark = pytest.mark.slow

REPLICA = """
import json, os, pathlib, time
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

provider = TracerProvider(resource=Resource.create({"service.name": "training-script"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
context = TraceContextTextMapPropagator().extract({"traceparent": os.environ["TRACEPARENT"]})
with provider.get_tracer("script").start_as_current_span("epoch", context=context):
    pass
provider.shutdown()  # exported
out = pathlib.Path(os.environ["HEADRACE_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
(out / f"{os.environ['HEADRACE_REPLICA']}.json").write_text(json.dumps(os.environ["TRACEPARENT"]))
pid = out / f"{os.environ['HEADRACE_REPLICA']}.pid"
pid.with_suffix(".tmp").write_text(str(os.getpid()))
pid.with_suffix(".tmp").rename(pid)  # whole when it appears
# The job succeeds when its Master does, and the trainer then stops the replicas still
# running: the Master waits until the Worker's process is gone, so the Worker exits by itself.
def running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
if os.environ["HEADRACE_REPLICA"] == "master-0":
    while not (out / "worker-0.pid").exists():
        time.sleep(0.02)
    worker = int((out / "worker-0.pid").read_text())
    while running(worker):
        time.sleep(0.02)
"""


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as found:
        yield found


@pytest.fixture
def client(tmp_path: Path, receiver: OtlpReceiver) -> Iterator[Client]:
    with nats_for_test(tmp_path) as nats:
        trainer = TrainerProcess(
            tmp_path / "home",
            nats.url,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        trainer.start()
        try:
            with Client(nats_url=nats.url, timeout=10) as found:
                trainer.ready(found)
                yield found
        finally:
            trainer.stop()


def test_each_replica_is_a_span_of_the_submission_s_trace_and_sees_it_in_traceparent(
    client: Client, receiver: OtlpReceiver, tmp_path: Path
) -> None:
    replica = script(tmp_path, "replica.py", REPLICA)
    manifest = write_manifest(
        tmp_path, "traced", pytorch_job("traced", ["python", replica.name], workers=1)
    )
    provider = TracerProvider()
    with provider.get_tracer("caller").start_as_current_span("caller") as caller:
        client.apply(manifest)
    mine = caller.get_span_context()
    job = client.wait_job("traced", timeout=60)
    assert job.state == "SUCCEEDED", job

    trace_id = f"{mine.trace_id:032x}"
    names = {"replica master-0", "replica worker-0", "epoch"}

    def complete(got: list[ReceivedSpan]) -> bool:
        found = [s for s in got if s.trace_id == trace_id]
        return sum(s.name == "epoch" for s in found) == 2 and names <= {s.name for s in found}

    spans = [s for s in receiver.wait_for(complete, "the job's trace") if s.trace_id == trace_id]
    [handled] = [s for s in spans if s.name == f"process {SubmitTrainingJob.subject()}"]
    assert handled.parent_id == f"{mine.span_id:016x}"
    assert handled.service == "headrace-trainer"
    output = Path(job.output_uri.removeprefix("file://"))
    for name in ("master-0", "worker-0"):
        [span] = [s for s in spans if s.name == f"replica {name}"]
        assert span.parent_id == handled.span_id
        assert span.attributes["headrace.replica"] == name
        assert span.attributes["headrace.attempt"] == 1
        assert span.attributes.get("process.exit.code") == 0, (name, span.attributes)
        # the replica's process saw its span and added one under it
        seen = json.loads((output / f"{name}.json").read_text())
        assert seen.split("-")[1:3] == [trace_id, span.span_id]
        [own] = [s for s in spans if s.name == "epoch" and s.parent_id == span.span_id]
        assert own.service == "training-script"
