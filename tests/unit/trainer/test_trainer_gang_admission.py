"""Admitting a whole gang at once: its summed demand, the refusal that names the request and
the machine, and GPUs dealt to replicas in order (pure logic)."""

from __future__ import annotations

from decimal import Decimal

from headrace_trainer.backends import Gang, ReplicaLaunch, ReplicaResources
from headrace_trainer.backends.local.admission import deal_gpus, gang_demand, gang_refusal
from headrace_trainer.capacity import Demand, Machine

GIB = 1024**3
MACHINE = Machine(cpus=Decimal(8), memory=16 * GIB, gpus=("0", "1", "2", "3"))


def replica(index: int, *, cpus: str = "0", memory: int = 0, gpus: int = 0) -> ReplicaLaunch:
    resources = ReplicaResources(cpus=Decimal(cpus), memory=memory, gpus=gpus)
    return ReplicaLaunch("worker", index, ("python", "train.py"), resources=resources)


def test_the_demand_of_a_gang_is_the_sum_of_its_replicas() -> None:
    gang = Gang("job", (replica(0, cpus="1.5", memory=GIB, gpus=1), replica(1, cpus="0.5", gpus=2)))
    assert gang_demand(gang) == Demand(cpus=Decimal(2), memory=GIB, gpus=3)
    assert gang_refusal(gang, MACHINE) is None


def test_gpus_are_dealt_in_replica_order_distinct_per_replica() -> None:
    gang = Gang("job", (replica(0, gpus=2), replica(1), replica(2, gpus=1)))
    assert deal_gpus(gang, ("1", "2", "3")) == [("1", "2"), (), ("3",)]


def test_too_many_gpus_are_refused_naming_request_and_machine() -> None:
    gang = Gang("ns/job", (replica(0, gpus=3), replica(1, gpus=2)))
    assert gang_refusal(gang, MACHINE) == (
        "gang 'ns/job' (2 replicas) asks for 5 GPUs in all (worker-0: 3, worker-1: 2) but "
        "this machine has 4: ask for fewer replicas or GPUs per replica, set "
        "HEADRACE_TRAINER_GPUS if the trainer does not see the machine's GPUs, or run it on "
        "the Kubernetes backend"
    )


def test_too_many_cpus_or_too_much_memory_are_refused() -> None:
    cpus = Gang("job", (replica(0, cpus="6"), replica(1, cpus="2.5")))
    assert "asks for 8.5 CPUs in all (worker-0: 6, worker-1: 2.5) but this machine has 8" in (
        gang_refusal(cpus, MACHINE) or ""
    )
    memory = Gang("job", (replica(0, memory=17 * GIB),))
    refused = gang_refusal(memory, MACHINE) or ""
    assert (
        "gang 'job' (1 replica) asks for 17 GiB of memory in all but this machine has 16 GiB"
        in (refused)
    )
    assert "lower the replicas' memory requests" in refused
