"""Data-parallel training of a small regression network with PyTorch DistributedDataParallel.

One process per replica. The distributed environment comes from the standard variables that
torchrun, Kubeflow's PyTorchJob and TrainJob, and Headrace set for every replica:

    MASTER_ADDR, MASTER_PORT   where rank 0 listens for the others
    WORLD_SIZE, RANK           how many processes in all, and which one this is
    LOCAL_RANK                 which process on this machine, picks the GPU under nccl
                               (optional, 0 when unset: Kubeflow's PyTorchJob sets no
                               LOCAL_RANK, it runs one process per replica)

Without any of them the script trains alone, without a process group. The backend is nccl
when CUDA is available and gloo otherwise (``--backend`` chooses). The data set is synthetic
and the same on every rank (fixed seed); a DistributedSampler gives each rank its own shard.

Output, on stdout:

    epoch=N loss=X          after each epoch (rank 0), the loss averaged over all ranks
    first_loss=X            at the end (rank 0)
    last_loss=X
    rank R parameters sha256 HEX     every rank: the digest of its final parameters

Rank 0 writes the final ``state_dict`` to ``--output``, by default ``model.pt`` in
``$HEADRACE_OUTPUT_DIR`` when that is set, else in the working directory.

    python train.py --epochs 10                          # alone
    torchrun --nproc-per-node 2 train.py --epochs 10     # two processes on this machine
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

DIST_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK")


class SetupError(Exception):
    """A bad argument or environment variable; the message names it and the fix."""


@dataclass(frozen=True)
class DistEnv:
    """Where this process stands in the job; ``world_size == 1`` and no master when alone."""

    world_size: int
    rank: int
    local_rank: int
    master_addr: str | None = None
    master_port: int | None = None

    @property
    def distributed(self) -> bool:
        return self.master_addr is not None


def _int_variable(environ: Mapping[str, str], name: str, lowest: int) -> int:
    value = environ[name]
    try:
        number = int(value)
    except ValueError:
        raise SetupError(f"{name}={value!r} is not a whole number: set {name} to one") from None
    if number < lowest:
        raise SetupError(f"{name}={number} is below {lowest}: set {name} to {lowest} or more")
    return number


def read_dist_env(environ: Mapping[str, str]) -> DistEnv:
    """The replica's place in the job from the torchrun variables (all four, or none)."""
    present = [name for name in DIST_VARIABLES if name in environ]
    if not present:
        return DistEnv(world_size=1, rank=0, local_rank=0)
    missing = [name for name in DIST_VARIABLES if name not in environ]
    if missing:
        raise SetupError(
            f"the distributed environment is incomplete: {', '.join(present)} set but "
            f"{', '.join(missing)} missing; launch with torchrun or as a PyTorchJob, or set "
            f"all of {', '.join(DIST_VARIABLES)} (or none, to train alone)"
        )
    world_size = _int_variable(environ, "WORLD_SIZE", 1)
    rank = _int_variable(environ, "RANK", 0)
    if rank >= world_size:
        raise SetupError(
            f"RANK={rank} is not below WORLD_SIZE={world_size}: ranks run from 0 to "
            f"{world_size - 1}"
        )
    port = _int_variable(environ, "MASTER_PORT", 1)
    if port > 65535:
        raise SetupError(f"MASTER_PORT={port} is not a TCP port: set it between 1 and 65535")
    if not environ["MASTER_ADDR"]:
        raise SetupError("MASTER_ADDR is empty: set it to the host name or address of rank 0")
    return DistEnv(
        world_size=world_size,
        rank=rank,
        local_rank=_int_variable(environ, "LOCAL_RANK", 0) if "LOCAL_RANK" in environ else 0,
        master_addr=environ["MASTER_ADDR"],
        master_port=port,
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} is not above 0")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=_positive_int, default=10)
    parser.add_argument("--samples", type=_positive_int, default=4096, help="data set size")
    parser.add_argument("--features", type=_positive_int, default=16)
    parser.add_argument("--hidden", type=_positive_int, default=64)
    parser.add_argument("--batch-size", type=_positive_int, default=64, help="per rank")
    parser.add_argument("--lr", type=_positive_float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("auto", "gloo", "nccl"), default="auto")
    parser.add_argument("--output", type=Path, default=None, help="where rank 0 saves the model")
    return parser.parse_args(argv)


def pick_backend(requested: str, cuda_available: bool) -> str:
    if requested == "auto":
        return "nccl" if cuda_available else "gloo"
    if requested == "nccl" and not cuda_available:
        raise SetupError(
            "--backend nccl needs a CUDA GPU and torch.cuda.is_available() is False here: "
            "use --backend gloo (or auto), or run on a GPU machine with a CUDA build of torch"
        )
    return requested


def output_path(given: Path | None, environ: Mapping[str, str]) -> Path:
    if given is not None:
        return given
    return Path(environ.get("HEADRACE_OUTPUT_DIR") or ".") / "model.pt"


def make_dataset(samples: int, features: int, seed: int) -> TensorDataset:
    """The same regression data on every rank: a smooth non-linear target plus a little noise."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, features, generator=generator)
    weights = torch.randn(features, 1, generator=generator) / features**0.5
    y = torch.tanh(x @ weights) + 0.3 * x[:, :1] * x[:, 1:2]
    y = y + 0.05 * torch.randn(samples, 1, generator=generator)
    return TensorDataset(x, y)


def parameters_digest(model: nn.Module) -> str:
    """sha256 over every parameter's bytes, in state_dict order: equal only when bit-identical."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def shard_digest(sampler: DistributedSampler[tuple[torch.Tensor, ...]]) -> str:
    """A short digest of the sample indices this rank sees in the current epoch."""
    indices = sorted(sampler)
    return hashlib.sha256(repr(indices).encode()).hexdigest()[:16]


def train(args: argparse.Namespace, env: DistEnv, out: Path) -> None:
    cuda = torch.cuda.is_available()
    backend = pick_backend(args.backend, cuda)
    if backend == "nccl":
        if env.local_rank >= torch.cuda.device_count():
            raise SetupError(
                f"LOCAL_RANK={env.local_rank} has no GPU: {torch.cuda.device_count()} visible "
                "(CUDA_VISIBLE_DEVICES); run at most one process per GPU"
            )
        torch.cuda.set_device(env.local_rank)
        device = torch.device("cuda", env.local_rank)
    else:
        device = torch.device("cpu")
    if env.distributed:
        dist.init_process_group(backend, init_method="env://")
    print(
        f"rank {env.rank} of {env.world_size}: backend {backend if env.distributed else 'none'}"
        f", device {device}",
        flush=True,
    )
    try:
        _train_loop(args, env, device, out)
    finally:
        if env.distributed:
            dist.destroy_process_group()


def _train_loop(args: argparse.Namespace, env: DistEnv, device: torch.device, out: Path) -> None:
    dataset = make_dataset(args.samples, args.features, args.seed)
    sampler: DistributedSampler[tuple[torch.Tensor, ...]] = DistributedSampler(
        dataset, num_replicas=env.world_size, rank=env.rank, shuffle=True, seed=args.seed
    )
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    torch.manual_seed(args.seed)  # the same initial parameters on every rank
    net = nn.Sequential(
        nn.Linear(args.features, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 1)
    ).to(device)
    model: nn.Module = DistributedDataParallel(net) if env.distributed else net
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.MSELoss()
    losses: list[float] = []
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        if epoch == 1:
            print(
                f"rank {env.rank} shard: {len(sampler)} of {len(dataset)} samples, "
                f"indices digest {shard_digest(sampler)}",
                flush=True,
            )
        loss_sum, count = 0.0, 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()  # DDP averages the gradients over all ranks here
            optimizer.step()
            loss_sum += loss.item() * len(x)
            count += len(x)
        total = torch.tensor([loss_sum, count], dtype=torch.float64, device=device)
        if env.distributed:
            dist.all_reduce(total)
        losses.append((total[0] / total[1]).item())
        if env.rank == 0:
            print(f"epoch={epoch} loss={losses[-1]:.6f}", flush=True)
    if env.rank == 0:
        print(f"first_loss={losses[0]:.6f}", flush=True)
        print(f"last_loss={losses[-1]:.6f}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        torch.save(net.state_dict(), partial)
        partial.replace(out)
        print(f"model saved to {out}", flush=True)
    print(f"rank {env.rank} parameters sha256 {parameters_digest(net)}", flush=True)
    if env.distributed:
        # every rank has finished before the master exits: its exit ends the job, and the
        # operator stops whatever still runs
        dist.barrier()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        env = read_dist_env(os.environ)
        train(args, env, output_path(args.output, os.environ))
    except SetupError as error:
        print(f"train.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
