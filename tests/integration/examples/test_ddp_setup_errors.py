"""Every bad argument or environment variable of examples/training/ddp/train.py stops it with
a message that names the thing and the fix, before any training starts."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest
from ddp_support import TRAIN, load_train_module, quiet_env, run_together

FULL = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500", "WORLD_SIZE": "2", "RANK": "1"}


@pytest.fixture(scope="module")
def train() -> ModuleType:
    return load_train_module()


def test_the_torchrun_variables_become_the_replicas_place(train: ModuleType) -> None:
    env = train.read_dist_env({**FULL, "LOCAL_RANK": "0"})
    assert env == train.DistEnv(
        world_size=2, rank=1, local_rank=0, master_addr="127.0.0.1", master_port=29500
    )
    assert env.distributed


def test_no_local_rank_as_kubeflow_pytorchjob_means_local_rank_0(train: ModuleType) -> None:
    assert train.read_dist_env(FULL).local_rank == 0


def test_none_of_them_means_training_alone(train: ModuleType) -> None:
    env = train.read_dist_env({"HOME": "/root"})
    assert (env.world_size, env.rank, env.distributed) == (1, 0, False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"MASTER_PORT": None},
            "MASTER_ADDR, WORLD_SIZE, RANK set but MASTER_PORT missing; launch with torchrun",
        ),
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not a whole number: set WORLD_SIZE to one"),
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0 is below 1: set WORLD_SIZE to 1 or more"),
        ({"RANK": "-1"}, "RANK=-1 is below 0"),
        ({"RANK": "2"}, "RANK=2 is not below WORLD_SIZE=2: ranks run from 0 to 1"),
        ({"MASTER_PORT": "70000"}, "MASTER_PORT=70000 is not a TCP port"),
        ({"MASTER_ADDR": ""}, "MASTER_ADDR is empty: set it to the host name or address of rank"),
        ({"LOCAL_RANK": "x"}, "LOCAL_RANK='x' is not a whole number"),
    ],
)
def test_a_bad_distributed_environment_is_named(
    train: ModuleType, change: dict[str, str | None], message: str
) -> None:
    environ = {**FULL, **change}
    given = {name: value for name, value in environ.items() if value is not None}
    with pytest.raises(train.SetupError) as raised:
        train.read_dist_env(given)
    assert message in str(raised.value)


def test_nccl_without_a_gpu_says_to_use_gloo(train: ModuleType) -> None:
    assert train.pick_backend("auto", cuda_available=False) == "gloo"
    assert train.pick_backend("auto", cuda_available=True) == "nccl"
    with pytest.raises(train.SetupError, match=r"--backend nccl needs a CUDA GPU.*use --backend"):
        train.pick_backend("nccl", cuda_available=False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "argument --epochs: 0 is below 1"),
        (["--batch-size", "many"], "argument --batch-size: 'many' is not a whole number"),
        (["--lr", "-0.1"], "argument --lr: -0.1 is not above 0"),
        (["--backend", "mpi"], "argument --backend: invalid choice: 'mpi'"),
    ],
)
def test_a_bad_argument_is_named(
    train: ModuleType, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        train.parse_args(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_the_output_goes_to_headrace_output_dir_unless_given(train: ModuleType) -> None:
    assert train.output_path(None, {}) == Path("model.pt")
    assert train.output_path(None, {"HEADRACE_OUTPUT_DIR": "/out"}) == Path("/out/model.pt")
    given = Path("elsewhere/m.pt")
    assert train.output_path(given, {"HEADRACE_OUTPUT_DIR": "/out"}) == given


def test_the_script_exits_2_with_the_message_on_stderr(tmp_path: Path) -> None:
    env = quiet_env(**{**FULL, "RANK": "5"})
    (finished,) = run_together([[sys.executable, str(TRAIN)]], [env], tmp_path)
    assert finished.returncode == 2
    assert "train.py: RANK=5 is not below WORLD_SIZE=2: ranks run from 0 to 1" in finished.output
    assert "epoch=" not in finished.output
