"""Placing a step: its environment, its cgroup and the notices of what is not applied."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from headrace_contracts import Resources, StepReady
from headrace_trainer.capacity import Demand, Grant, Machine
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


def test_a_gpu_step_sees_its_devices_and_keeps_its_own_env() -> None:
    placed = Placement(MACHINE, "no cgroups here").prepare(
        ready(), Grant(Demand(gpus=2), gpus=("0", "1"))
    )
    assert placed.step.executor["env"] == [
        {"name": "A", "value": "1"},
        {"name": "CUDA_VISIBLE_DEVICES", "value": "0,1"},
    ]
    assert placed.notices == []


def test_limits_go_into_a_cgroup_and_what_is_not_enforced_is_said(tmp_path: Path) -> None:
    parent = tmp_path / "headrace"
    parent.mkdir()
    (parent / "cgroup.subtree_control").write_text("memory")
    placement = Placement(MACHINE, Enforcer(parent))
    step = ready(resources=Resources(memory_limit="64Mi", cpu_limit="2"))
    placed = placement.prepare(step, Grant(Demand()))
    assert placed.cgroup is not None
    assert (placed.cgroup.path / "memory.max").read_text() == str(64 * 1024**2)
    assert placed.notices[0].startswith("step 'train' asks for no GPU, so it sees none")
    assert placed.notices[1:] == [
        f"the CPU limit 2 of step 'train' is not enforced: the cpu controller is not enabled "
        f"for children of {parent} (add +cpu to its cgroup.subtree_control)"
    ]
    assert placed.step.executor["env"][-1] == {"name": "CUDA_VISIBLE_DEVICES", "value": ""}


def test_without_cgroups_the_limits_are_reported_as_not_enforced() -> None:
    placement = Placement(MACHINE, "this machine has no cgroup v2 hierarchy")
    placed = placement.prepare(ready(resources=Resources(memory_limit="1Gi")), Grant(Demand()))
    assert placed.cgroup is None
    assert placed.notices[-1] == (
        "the memory limit 1Gi of step 'train' is not enforced: this machine has no cgroup v2 "
        "hierarchy"
    )


def test_a_bad_memory_setting_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="HEADRACE_TRAINER_MEMORY='lots'"):
        TrainerSettings(memory="lots")
