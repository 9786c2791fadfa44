"""The local backend's capacity: overrides and GPU lists."""

from __future__ import annotations

from decimal import Decimal

import pytest

from headrace_trainer.config import TrainerSettings
from headrace_trainer.machine import detect_gpus, detect_machine, parse_gpus


def test_overrides_set_the_capacity() -> None:
    machine = detect_machine(TrainerSettings(cpus=2, memory="4Gi", gpus="2"))
    assert (machine.cpus, machine.memory, machine.gpus) == (Decimal(2), 4 * 1024**3, ("0", "1"))
    assert machine.describe() == "2 CPUs, 4 GiB of memory, 2 GPUs"


def test_gpu_lists() -> None:
    assert parse_gpus("") == ()
    assert parse_gpus("0") == ()
    assert parse_gpus("3") == ("0", "1", "2")
    assert parse_gpus("1, 3") == ("1", "3")
    assert parse_gpus("GPU-a1,GPU-b2") == ("GPU-a1", "GPU-b2")


def test_the_trainers_own_visible_devices_are_what_it_hands_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert detect_gpus() == ("2", "5")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert detect_gpus() == ()


def test_the_machine_itself_is_measured() -> None:
    machine = detect_machine(TrainerSettings())
    assert machine.cpus >= 1
    assert machine.memory > 64 * 1024**2
