"""Placing a step: its environment, its cgroup and the notices of what is not applied."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from headrace_contracts import Resources, StepReady
from headrace_trainer.backends import ReplicaState
from headrace_trainer.backends.local.limits import limit
from headrace_trainer.capacity import Machine
from headrace_trainer.cgroups import Enforcer
from headrace_trainer.config import TrainerSettings
from headrace_trainer.placement import Placement

MACHINE = Machine(cpus=Decimal(4), memory=8 * 1024**3, gpus=("0", "1"))


def ready(**fields: object) -> StepReady:
    return StepReady(
        run_id="r",
        step_id="root/train",
        task_name="train",
        executor={"image": "python:3.11", "env": [{"name": "A", "value": "1"}]},
        **fields,  # type: ignore[arg-type]
    )


def test_a_gpu_step_asks_for_its_devices_and_is_told_nothing() -> None:
    placement = Placement(MACHINE, "no cgroups here")
    step = ready(resources=Resources(accelerator_count=2, accelerator_type="nvidia.com/gpu"))
    assert placement.resources(step).gpus == 2
    assert placement.notices(step) == []


def test_limits_go_into_a_cgroup_and_what_is_not_enforced_is_said(tmp_path: Path) -> None:
    parent = tmp_path / "headrace"
    parent.mkdir()
    (parent / "cgroup.subtree_control").write_text("memory")
    enforcer = Enforcer(parent)
    placement = Placement(MACHINE, enforcer)
    step = ready(resources=Resources(memory_limit="64Mi", cpu_limit="2"))
    resources = placement.resources(step)
    assert (resources.memory_limit, resources.cpu_limit) == (64 * 1024**2, Decimal(2))
    limits = limit(enforcer, resources)
    assert limits.cgroup is not None
    assert (limits.cgroup.path / "memory.max").read_text() == str(64 * 1024**2)
    assert placement.notices(step)[0].startswith("step 'train' asks for no GPU, so it sees none")
    assert placement.notices(step)[1:] == []
    state = ReplicaState("step", 0, cpu_unenforced=limits.cpu_unenforced)
    assert placement.limit_notices(step, state) == [
        f"the CPU limit 2 of step 'train' is not enforced: the cpu controller is not enabled "
        f"for children of {parent} (add +cpu to its cgroup.subtree_control)"
    ]


def test_without_cgroups_the_limits_are_reported_as_not_enforced() -> None:
    placement = Placement(MACHINE, "this machine has no cgroup v2 hierarchy")
    step = ready(resources=Resources(memory_limit="1Gi"))
    limits = limit(placement.enforcer, placement.resources(step))
    assert limits.cgroup is None
    state = ReplicaState("step", 0, limits_unenforced=limits.unenforced)
    assert placement.limit_notices(step, state) == [
        "the memory limit 1Gi of step 'train' is not enforced: this machine has no cgroup v2 "
        "hierarchy"
    ]


def test_a_limit_that_is_no_quantity_is_said_and_left_out() -> None:
    placement = Placement(MACHINE, "no cgroups here")
    step = ready(
        resources=Resources(memory_request="1Gi", memory_limit="lots", accelerator_count=1)
    )
    assert placement.resources(step).memory_limit is None
    (notice,) = placement.notices(step)
    assert notice.startswith("the memory limit lots of step 'train' is not enforced: ")


def test_a_bad_memory_setting_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="HEADRACE_TRAINER_MEMORY='lots'"):
        TrainerSettings(memory="lots")
