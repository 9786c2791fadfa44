"""examples/training/ddp/train.py as the replicas of a distributed job: real processes on this
machine, joined by PyTorch's gloo backend, each with the environment its replica gets."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from ddp_support import (
    QUICK,
    TRAIN,
    epoch_losses,
    free_port,
    metric,
    parameter_digests,
    quiet_env,
    require_torch,
    run_together,
    shard_digests,
)

pytestmark = pytest.mark.slow


def _digest_of_saved_model(path: Path) -> str:
    """The checksum train.py prints, computed again from the state_dict rank 0 saved."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in torch.load(path, weights_only=True).items():
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_two_replicas_train_to_identical_parameters_and_the_loss_falls(tmp_path: Path) -> None:
    require_torch()
    port = str(free_port())
    envs = [
        quiet_env(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
            WORLD_SIZE="2",
            RANK=str(rank),
            LOCAL_RANK="0",
            HEADRACE_OUTPUT_DIR=str(tmp_path / f"out-{rank}"),
        )
        for rank in (0, 1)
    ]
    command = [sys.executable, str(TRAIN), *QUICK]

    master, worker = run_together([command, command], envs, tmp_path)

    assert master.returncode == 0, master.output
    assert worker.returncode == 0, worker.output
    assert "rank 0 of 2: backend gloo, device cpu" in master.output
    assert "rank 1 of 2: backend gloo, device cpu" in worker.output
    digests = parameter_digests(master.output) | parameter_digests(worker.output)
    assert set(digests) == {0, 1}
    assert digests[0] == digests[1], "the ranks ended with different parameters"
    shards = shard_digests(master.output) | shard_digests(worker.output)
    assert shards[0] != shards[1], "both ranks trained on the same shard"
    losses = epoch_losses(master.output)
    assert len(losses) == 4
    assert metric(master.output, "first_loss") == losses[0]
    assert metric(master.output, "last_loss") == losses[-1]
    assert losses[-1] < losses[0] / 2, f"the loss did not fall: {losses}"
    assert epoch_losses(worker.output) == [], "only rank 0 reports the loss"
    saved = tmp_path / "out-0" / "model.pt"
    assert _digest_of_saved_model(saved) == digests[0]
    assert not (tmp_path / "out-1").exists(), "only rank 0 writes the model"


def test_torchrun_standalone_starts_two_processes_that_agree(tmp_path: Path) -> None:
    """The README's way to run it without the platform."""
    require_torch()
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--standalone", "--nproc-per-node", "2", str(TRAIN), *QUICK]
    command += ["--output", str(tmp_path / "model.pt")]

    (finished,) = run_together([command], [quiet_env()], tmp_path)

    assert finished.returncode == 0, finished.output
    digests = parameter_digests(finished.output)
    assert set(digests) == {0, 1}
    assert digests[0] == digests[1]
    losses = epoch_losses(finished.output)
    assert losses[-1] < losses[0]
    assert _digest_of_saved_model(tmp_path / "model.pt") == digests[0]


def test_alone_without_the_distributed_environment(tmp_path: Path) -> None:
    """No torchrun variables: one process, no process group, the model in the working dir."""
    require_torch()
    (finished,) = run_together(
        [[sys.executable, str(TRAIN), "--epochs", "2", "--samples", "512"]],
        [quiet_env()],
        tmp_path,
    )

    assert finished.returncode == 0, finished.output
    assert "rank 0 of 1: backend none, device cpu" in finished.output
    assert "512 of 512 samples" in finished.output
    assert len(epoch_losses(finished.output)) == 2
    assert (tmp_path / "model.pt").is_file()
