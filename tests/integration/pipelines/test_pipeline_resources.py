"""Resources, kfp-kubernetes settings and pythonic artifact outputs, end to end.

Real kfp-compiled pipelines on a real nats-server: the scheduler fills StepReady.resources
and .platform from the spec, the trainer admits steps by its configured capacity (2 CPUs,
8Gi, no GPUs) and takes returned artifacts from kfp's executor output.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kfp import compiler, dsl, kubernetes
from kfp.dsl import Dataset, Input, Output
from nats.aio.msg import Msg
from pipeline_harness import Platform, step

from headrace_artifacts import FileStore
from headrace_bus import Bus, BusConfig
from headrace_contracts import Message, StepReady, StepStarted, decode
from headrace_metadata.app import build as build_metadata
from headrace_pipelines import load_pipeline
from headrace_runtime import Service, Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing import TestNats
from headrace_trainer.app import build as build_trainer
from headrace_trainer.cgroups import probe
from headrace_trainer.config import TrainerSettings

pytestmark = pytest.mark.timeout(120)


class Seen:
    """Every event on the bus, decoded (to read StepReady and StepStarted)."""

    def __init__(self) -> None:
        self.events: list[Message] = []

    def of(self, kind: type[Any], step_id: str) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and e.step_id == step_id]

    async def start(self, bus: Bus) -> "Seen":
        async def received(msg: Msg) -> None:
            envelope = decode(msg.headers, msg.data, bus.catalogue, subject=msg.subject)
            self.events.append(envelope.message)

        await bus.connection.subscribe("headrace.>", cb=received)
        return self


@pytest.fixture
async def platform(
    settings: Settings, tmp_path: Path, nats_server: TestNats
) -> AsyncIterator[tuple[Platform, Seen]]:
    """Scheduler, metadata and one trainer that has 2 CPUs, 8Gi and no GPUs to give."""
    services: list[Service] = [
        build_scheduler(settings),
        build_trainer(
            settings, trainer=TrainerSettings(concurrency=4, cpus=2, memory="8Gi", gpus="0")
        ),
        build_metadata(settings),
    ]
    for service in services:
        await service.start()
    bus = Bus(BusConfig(url=nats_server.url), source="tests/resources")
    await bus.connect()
    seen = await Seen().start(bus)
    folder = tmp_path / "compiled"
    folder.mkdir()
    yield Platform(bus, folder, services), seen
    await bus.close()
    for service in reversed(services):
        await service.stop()


def compiled(pipeline: Any, folder: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Both documents of kfp's compiled YAML, read as the CLI reads them."""
    path = folder / f"{pipeline.name}-{uuid.uuid4().hex[:6]}.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return load_pipeline(path)


async def run(platform: Platform, pipeline: Any, **options: Any) -> Any:
    spec, platform_spec = compiled(pipeline, platform.folder)
    run_id = await platform.submit(spec, platform_spec=platform_spec, **options)
    return await platform.wait(run_id)


def read_log(settings: Settings, uri: str) -> str:
    store = FileStore(settings.home / "artifacts")
    target = settings.home / f"log-{uuid.uuid4().hex[:6]}.txt"
    store.get(uri, target)
    return target.read_text()


# pythonic artifact outputs -------------------------------------------------------------


@dsl.component
def make_dataset(rows: int) -> Dataset:
    dataset = Dataset(uri=dsl.get_uri())
    with open(dataset.path, "w") as file:
        file.write("row\n" * rows)
    dataset.metadata["rows"] = rows
    return dataset


@dsl.component
def count_rows(data: Input[Dataset]) -> str:
    with open(data.path) as file:
        return f"{len(file.readlines())} rows, metadata {data.metadata['rows']}"


@dsl.component
def count_all(parts: Input[list[Dataset]]) -> str:
    sizes = []
    for part in parts:
        with open(part.path) as file:
            sizes.append(len(file.readlines()))
    return ",".join(str(size) for size in sorted(sizes))


@dsl.component
def moved(data: Output[Dataset]) -> None:
    import os
    import tempfile

    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "elsewhere.csv")
    with open(path, "w") as file:
        file.write("a\nb\nc\n")
    data.set_path(path)
    data.metadata["rows"] = 3


@dsl.pipeline
def pythonic() -> str:
    made = make_dataset(rows=4)
    return count_rows(data=made.output).output


@dsl.pipeline
def pythonic_loop() -> str:
    with dsl.ParallelFor([1, 2, 3]) as rows:
        made = make_dataset(rows=rows)
    return count_all(parts=dsl.Collected(made.output)).output


@dsl.pipeline
def custom_path() -> str:
    return count_rows(data=moved().outputs["data"]).output


async def test_a_returned_dataset_is_stored_recorded_and_passed_on(
    platform: tuple[Platform, Seen], settings: Settings
) -> None:
    found = await run(platform[0], pythonic)
    assert found.state == "SUCCEEDED", found.error
    assert found.output_parameters["Output"] == "4 rows, metadata 4"
    made = step(found, "make-dataset")
    assert made is not None
    (ref,) = made.output_artifacts["Output"]
    assert ref.metadata == {"rows": 4}
    assert ref.schema_title == "system.Dataset"
    assert ref.size == len("row\n" * 4)
    assert ref.uri.startswith(FileStore(settings.home / "artifacts").root_uri)


async def test_returned_datasets_of_a_loop_are_collected_downstream(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], pythonic_loop)
    assert found.state == "SUCCEEDED", found.error
    assert found.output_parameters["Output"] == "1,2,3"


async def test_an_output_moved_with_set_path_is_uploaded_from_there(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], custom_path)
    assert found.state == "SUCCEEDED", found.error
    assert found.output_parameters["Output"] == "3 rows, metadata 3"


# resources -----------------------------------------------------------------------------


@dsl.component
def busy(seconds: float) -> str:
    import time

    begun = time.time()
    time.sleep(seconds)
    return f"{begun}:{time.time()}"


@dsl.pipeline
def greedy() -> None:
    busy(seconds=0.0).set_cpu_limit("1000")


@dsl.pipeline
def greedy_by_parameter(cpus: str = "1") -> None:
    busy(seconds=0.0).set_cpu_limit(cpus)


@dsl.pipeline
def two_heavy() -> None:
    busy(seconds=1.0).set_cpu_request("2").set_memory_limit("1Gi")
    busy(seconds=1.0).set_cpu_limit("2").set_memory_request("500M")


@dsl.pipeline
def gpu_hungry() -> None:
    busy(seconds=0.0).set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)


@dsl.pipeline
def placed() -> None:
    task = busy(seconds=0.0)
    kubernetes.add_node_selector(task, label_key="disk", label_value="ssd")
    kubernetes.add_toleration(task, key="gpu", operator="Exists", effect="NoSchedule")
    kubernetes.use_secret_as_env(task, secret_name="creds", secret_key_to_env={"pw": "PASSWORD"})
    kubernetes.mount_pvc(task, pvc_name="data", mount_path="/data")
    kubernetes.set_timeout(task, 600)


@dsl.pipeline
def deadline() -> None:
    kubernetes.set_timeout(busy(seconds=60.0), 1)


async def test_a_step_asking_for_more_cpus_than_the_machine_has_fails_at_once(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], greedy)
    assert found.state == "FAILED"
    failed = step(found, "busy")
    assert failed is not None
    assert failed.reason == (
        "step 'busy' asks for 1000 CPUs but this machine has 2: lower "
        "set_cpu_limit/set_cpu_request or run it on the Kubernetes backend"
    )
    (ready,) = platform[1].of(StepReady, "busy")
    assert ready.resources.cpu_limit == "1000"
    assert ready.resources.cpu == "1000"


async def test_a_cpu_limit_from_a_pipeline_parameter_is_resolved(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], greedy_by_parameter, arguments={"cpus": "1000"})
    failed = step(found, "busy")
    assert failed is not None
    assert failed.reason.startswith("step 'busy' asks for 1000 CPUs but this machine has 2: ")
    small = await run(platform[0], greedy_by_parameter, arguments={"cpus": "500m"})
    assert small.state == "SUCCEEDED", small.error


async def test_a_step_asking_for_a_gpu_on_a_machine_without_fails_at_once(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], gpu_hungry)
    failed = step(found, "busy")
    assert failed is not None
    assert failed.reason.startswith("step 'busy' asks for 1 GPUs but this machine has 0: ")
    (ready,) = platform[1].of(StepReady, "busy")
    assert (ready.resources.accelerator_type, ready.resources.accelerator_count) == (
        "nvidia.com/gpu",
        1,
    )


async def test_two_steps_asking_for_all_cpus_run_one_after_the_other(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], two_heavy)
    assert found.state == "SUCCEEDED", found.error
    spans = sorted(
        tuple(float(x) for x in s.output_parameters["Output"].split(":"))
        for s in found.steps
        if s.kind == "container"
    )
    assert len(spans) == 2
    (_, first_end), (second_begin, _) = spans
    assert second_begin >= first_end, f"the 2-CPU steps overlapped: {spans}"
    resources = {r.step_id: r.resources for r in platform[1].events if isinstance(r, StepReady)}
    assert resources["busy"].cpu_request == "2"
    assert resources["busy"].memory_limit == "1Gi"
    assert resources["busy-2"].cpu_limit == "2"
    assert resources["busy-2"].memory == "500M"


async def test_kubernetes_settings_are_carried_and_those_not_applied_are_reported(
    platform: tuple[Platform, Seen], settings: Settings
) -> None:
    found = await run(platform[0], placed)
    assert found.state == "SUCCEEDED", found.error
    (ready,) = platform[1].of(StepReady, "busy")
    assert ready.platform["nodeSelector"] == {"labels": {"disk": "ssd"}}
    assert ready.timeout_seconds == 600
    (started,) = platform[1].of(StepStarted, "busy")
    (notice,) = started.notices
    assert notice == (
        "the local backend does not apply these Kubernetes settings of step 'busy' (the "
        "Kubernetes backend does): nodeSelector (node selector: disk=ssd); pvcMount "
        "(persistent volume claims: data at /data); secretAsEnv (secrets as environment "
        "variables: creds -> PASSWORD); tolerations (tolerations: gpu:Exists:NoSchedule)"
    )
    busy_step = step(found, "busy")
    assert busy_step is not None
    log = read_log(settings, busy_step.log_uri)
    assert log.count(f"headrace: {notice}\n") == 1


async def test_kubernetes_set_timeout_is_the_steps_timeout(
    platform: tuple[Platform, Seen],
) -> None:
    found = await run(platform[0], deadline)
    assert found.state == "FAILED"
    failed = step(found, "busy")
    assert failed is not None
    assert failed.reason.startswith("step 'busy' ran longer than its timeout of 1 s and was killed")


@dsl.component
def hog(mebibytes: int) -> int:
    held = bytearray(mebibytes * 1024**2)
    return len(held)


@dsl.pipeline
def over_its_memory() -> None:
    hog(mebibytes=512).set_memory_limit("64M")


async def test_a_step_over_its_memory_limit_is_killed_and_fails_saying_so(
    platform: tuple[Platform, Seen],
) -> None:
    """Enforced with cgroup v2, or v1 as on the CI machine; skipped only with neither."""
    enforcer = probe()
    if isinstance(enforcer, str):
        pytest.skip(f"memory limits cannot be enforced on this machine: {enforcer}")
    found = await run(platform[0], over_its_memory)
    assert found.state == "FAILED"
    failed = step(found, "hog")
    assert failed is not None
    assert failed.reason == (
        "step 'hog' used more memory than its limit of 64M and was killed: raise "
        "set_memory_limit or use less memory"
    )
    (started,) = platform[1].of(StepStarted, "hog")
    assert not [notice for notice in started.notices if "not enforced" in notice]


@dsl.pipeline
def placed_chain() -> None:
    first = busy(seconds=2.0)
    kubernetes.add_node_selector(first, label_key="disk", label_value="ssd")
    second = busy(seconds=0.0).after(first)
    kubernetes.add_node_selector(second, label_key="disk", label_value="ssd")


async def test_the_platform_spec_is_kept_with_the_run_across_a_scheduler_restart(
    settings: Settings, tmp_path: Path, nats_server: TestNats
) -> None:
    """The scheduler that launches the second step is not the one that took the submit: it
    reads the spec back from the database, and its StepReady still carries the settings."""
    first_scheduler = build_scheduler(settings)
    others = [build_trainer(settings, trainer=TrainerSettings(concurrency=2))]
    for service in [first_scheduler, *others]:
        await service.start()
    bus = Bus(BusConfig(url=nats_server.url), source="tests/resources")
    await bus.connect()
    seen = await Seen().start(bus)
    shared = Platform(bus, tmp_path, [first_scheduler, *others])
    second_scheduler = build_scheduler(settings)
    try:
        spec, platform_spec = compiled(placed_chain, tmp_path)
        run_id = await shared.submit(spec, platform_spec=platform_spec, enable_caching=False)
        await shared.wait_step(run_id, "busy", "RUNNING")
        await first_scheduler.stop()
        await second_scheduler.start()
        found = await shared.wait(run_id)
        assert found.state == "SUCCEEDED", found.error
        ready = {e.step_id: e for e in seen.events if isinstance(e, StepReady)}
        assert set(ready) == {"busy", "busy-2"}
        selector = {"nodeSelector": {"labels": {"disk": "ssd"}}}
        assert [r.platform for r in ready.values()] == [selector, selector]
    finally:
        await bus.close()
        for service in [second_scheduler, *others]:
            await service.stop()
