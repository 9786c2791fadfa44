"""Admission by free capacity (pure bookkeeping): quantities, refusals, waiting, GPUs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from headrace_contracts import Resources
from headrace_trainer.capacity import Capacity, Demand, Machine, demand_of, refusal
from headrace_trainer.errors import StepError

MACHINE = Machine(cpus=Decimal(2), memory=8 * 1024**3, gpus=("0", "1"))


def test_requests_win_over_limits_and_quantities_parse() -> None:
    demand = demand_of(
        Resources(cpu_request="500m", cpu_limit="2", memory_limit="1G", accelerator_count=1),
        "train",
    )
    assert demand == Demand(cpus=Decimal("0.5"), memory=10**9, gpus=1, gpu_type="nvidia.com/gpu")
    assert demand_of(Resources(), "train").empty


def test_a_quantity_that_does_not_parse_is_named() -> None:
    with pytest.raises(StepError) as caught:
        demand_of(Resources(memory_limit="lots"), "train")
    assert str(caught.value).startswith(
        "step 'train' asks for memory 'lots', which is not a Kubernetes quantity"
    )
    assert str(caught.value).endswith("pass set_memory_limit/set_memory_request a value like '4Gi'")


def test_refusals_name_the_request_and_the_capacity() -> None:
    assert refusal(Demand(cpus=Decimal(1000)), MACHINE, "train") == (
        "step 'train' asks for 1000 CPUs but this machine has 2: lower "
        "set_cpu_limit/set_cpu_request or run it on the Kubernetes backend"
    )
    assert refusal(Demand(memory=16 * 1024**3), MACHINE, "train") == (
        "step 'train' asks for 16 GiB of memory but this machine has 8 GiB: lower "
        "set_memory_limit/set_memory_request or run it on the Kubernetes backend"
    )
    gpus = refusal(Demand(gpus=3, gpu_type="nvidia.com/gpu"), MACHINE, "train")
    assert gpus is not None
    assert gpus.startswith("step 'train' asks for 3 GPUs but this machine has 2")
    tpu = refusal(Demand(gpus=1, gpu_type="google.com/tpu"), MACHINE, "train")
    assert tpu is not None
    assert "type 'google.com/tpu'" in tpu
    assert (
        refusal(Demand(cpus=Decimal(2), gpus=2, gpu_type="NVIDIA_TESLA_T4"), MACHINE, "t") is None
    )


async def test_a_demand_waits_until_enough_is_free_and_gpus_are_distinct() -> None:
    capacity = Capacity(MACHINE)
    never = asyncio.Event()
    first = await capacity.admit(Demand(cpus=Decimal(2), gpus=1, gpu_type="x"), never)
    assert first is not None
    assert first.gpus == ("0",)
    waiting = asyncio.ensure_future(capacity.admit(Demand(cpus=Decimal(1), gpus=1), never))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "admitted with no CPU free"
    await capacity.release(first)
    second = await asyncio.wait_for(waiting, 5)
    assert second is not None
    assert second.gpus == ("0",)
    third = await capacity.admit(Demand(gpus=1), never)
    assert third is not None
    assert third.gpus == ("1",)
    assert (capacity.cpus, capacity.gpus) == (Decimal(1), [])


async def test_a_cancelled_step_stops_waiting_holding_nothing() -> None:
    capacity = Capacity(MACHINE)
    never, cancelled = asyncio.Event(), asyncio.Event()
    held = await capacity.admit(Demand(cpus=Decimal(2)), never)
    assert held is not None
    waiting = asyncio.ensure_future(capacity.admit(Demand(cpus=Decimal(1)), cancelled))
    await asyncio.sleep(0.05)
    cancelled.set()
    assert await asyncio.wait_for(waiting, 5) is None
    await capacity.release(held)
    assert capacity.cpus == Decimal(2)
