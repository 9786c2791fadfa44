"""GPUs of the local backend: distinct devices through CUDA_VISIBLE_DEVICES, none for a
step that asks for none; limits the machine cannot enforce are said in the log.

A trainer configured with two (pretend) GPUs; the steps only read their environment.

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

import asyncio
from collections.abc import Awaitable, Callable

from kfp import dsl
from trainer_support import Recorder, step_ready

from headrace_artifacts import FileStore
from headrace_bus import Bus
from headrace_contracts import Resources, StepStarted, StepSucceeded
from headrace_runtime import Service
from headrace_trainer.cgroups import probe

Trainer = Callable[..., Awaitable[Service]]
ONE_GPU = Resources(accelerator_type="nvidia.com/gpu", accelerator_count=1, gpu=1)


@dsl.component(base_image="python:3.11")
def devices(seconds: float) -> str:
    import os
    import time

    begun = time.time()
    time.sleep(seconds)
    return f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}|{begun}|{time.time()}"


async def test_gpu_steps_get_distinct_devices_and_others_none(
    trainer: Trainer, client: Bus, recorder: Recorder, store: FileStore, tmp_path
) -> None:
    await trainer(concurrency=4, gpus="2", cpus=4, memory="4Gi")
    steps = [
        step_ready(
            devices, store, tmp_path, step_id=f"root/gpu-{i}", parameters={"seconds": 1.0}
        ).model_copy(update={"resources": ONE_GPU})
        for i in range(3)
    ]
    plain = step_ready(
        devices,
        store,
        tmp_path,
        step_id="root/plain",
        parameters={"seconds": 0.0},
        resources=Resources(memory_limit="256Mi"),
    )
    for step in [*steps, plain]:
        await client.publish(step)
    done = await asyncio.gather(*(recorder.first(StepSucceeded, s.step_id, 30) for s in steps))
    spans = [d.output_parameters["Output"].split("|") for d in done]
    assert {device for device, _, _ in spans} == {"0", "1"}, spans
    for index, (device, begun, ended) in enumerate(spans):
        for other, other_begun, other_ended in spans[index + 1 :]:
            overlap = float(begun) < float(other_ended) and float(other_begun) < float(ended)
            assert not (overlap and device == other), f"two steps held GPU {device}: {spans}"

    finished = await recorder.first(StepSucceeded, plain.step_id)
    assert finished.output_parameters["Output"].split("|")[0] == ""
    (started,) = recorder.of(StepStarted, plain.step_id)
    log = store.open_read(store.key_for(finished.log_uri)).read().decode()
    no_gpu = (
        "step 'devices' asks for no GPU, so it sees none (CUDA_VISIBLE_DEVICES is empty): ask "
        "with set_accelerator_type('nvidia.com/gpu').set_accelerator_limit(1)"
    )
    assert no_gpu in started.notices
    assert log.count(f"headrace: {no_gpu}\n") == 1
    enforcer = probe()
    if isinstance(enforcer, str):
        limit = f"the memory limit 256Mi of step 'devices' is not enforced: {enforcer}"
        assert limit in started.notices
        assert log.count(f"headrace: {limit}\n") == 1
