"""Running examples/training/ddp/train.py as real processes, and reading what it prints."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "training" / "ddp"
TRAIN = EXAMPLE / "train.py"
# Small enough for a few seconds on two shared cores, big enough for the loss to fall.
QUICK = ("--epochs", "4", "--samples", "2048", "--batch-size", "64")
TIMEOUT = 90.0  # a rendezvous that never completes would otherwise wait for 30 minutes


def require_torch() -> None:
    """Fail, never skip: `make test` installs the torch extra, so its absence is a fault."""
    if importlib.util.find_spec("torch") is None:
        pytest.fail(
            "torch is not installed in this environment: run `make test` or `make integration`"
            " (they install the `torch` extra), or `.tools/bin/uv sync --all-packages --extra "
            "torch`"
        )


def load_train_module() -> ModuleType:
    require_torch()
    spec = importlib.util.spec_from_file_location("ddp_example_train", TRAIN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def quiet_env(**extra: str) -> dict[str, str]:
    """This environment without any torchrun variables, one thread per process, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK"}
        and not name.startswith("PET_")
    }
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
    return env


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str


@contextlib.contextmanager
def _killed_at_exit(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_together(
    commands: Sequence[Sequence[str]], envs: Sequence[Mapping[str, str]], cwd: Path
) -> list[Finished]:
    """Start every command at once (as a job's replicas start), wait for all of them; each
    one's stdout and stderr go to ``cwd/replica-N.log``."""
    processes: list[subprocess.Popen[bytes]] = []
    logs = [cwd / f"replica-{index}.log" for index in range(len(commands))]
    with _killed_at_exit(processes):
        for command, env, log in zip(commands, envs, logs, strict=True):
            with log.open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        list(command),
                        cwd=cwd,
                        env=dict(env),
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                )
        for process in processes:
            process.wait(timeout=TIMEOUT)
    return [
        Finished(process.returncode, log.read_text())
        for process, log in zip(processes, logs, strict=True)
    ]


def epoch_losses(output: str) -> list[float]:
    return [float(value) for value in re.findall(r"^epoch=\d+ loss=(\S+)$", output, re.M)]


def metric(output: str, name: str) -> float:
    found = re.findall(rf"^{name}=(\S+)$", output, re.M)
    assert len(found) == 1, f"expected one {name}= line in:\n{output}"
    return float(found[0])


def parameter_digests(output: str) -> dict[int, str]:
    """rank -> the digest it printed of its final parameters."""
    found = re.findall(r"^rank (\d+) parameters sha256 ([0-9a-f]{64})$", output, re.M)
    return {int(rank): digest for rank, digest in found}


def shard_digests(output: str) -> dict[int, str]:
    found = re.findall(r"^rank (\d+) shard: .* indices digest ([0-9a-f]+)$", output, re.M)
    return {int(rank): digest for rank, digest in found}
