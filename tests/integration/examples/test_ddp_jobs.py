"""The issue's Done-when: the example's PyTorchJob (Master + Worker) and TrainJob (two
nodes, torchrun) through `headrace apply` on the local backend, gloo on CPU: both ranks end
with identical parameters and the loss went down (a real trainer process, real torch)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ddp_support import EXAMPLE, epoch_losses, metric, parameter_digests, require_torch

from headrace import Client
from headrace.cli import main
from headrace.run_errors import PlatformUnavailable
from headrace_testing import BlockingServiceProcess, nats_for_test, service_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_torch()
    folder = tmp_path_factory.mktemp("ddp-jobs")
    with nats_for_test(folder) as nats:
        settings = service_settings(folder / "home", nats.url, outbox_interval=0.05)
        trainer = BlockingServiceProcess(
            "headrace-trainer",
            settings,
            folder / "trainer.log",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            HEADRACE_TRAINER_JOB_LOG_UPLOAD_SECONDS="0.5",
            HEADRACE_TRAINER_STEP_ENVIRONMENTS="false",
        )
        trainer.start()
        try:
            with Client(nats_url=nats.url, timeout=10) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        client.list_jobs()
                        break
                    except PlatformUnavailable:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
            yield nats.url
        finally:
            trainer.stop()


@pytest.mark.parametrize(
    ("manifest", "name", "replicas"),
    [
        ("pytorchjob.yaml", "ddp-regression", ("master-0", "worker-0")),
        ("trainjob.yaml", "ddp-regression-v2", ("node-0", "node-1")),
    ],
)
def test_the_example_trains_through_apply_to_identical_parameters(
    platform: str, manifest: str, name: str, replicas: tuple[str, str]
) -> None:
    assert main(["apply", "-f", str(EXAMPLE / manifest), "--nats-url", platform]) == 0
    with Client(nats_url=platform, timeout=10) as client:
        job = client.wait_job(name, timeout=300)
        logs = {r: "".join(client.job_logs(name, replica=r)) for r in replicas}
        assert job.state == "SUCCEEDED", f"{job}\n{logs}"
        digests: dict[int, str] = {}
        for output in logs.values():
            digests.update(parameter_digests(output))
        assert sorted(digests) == [0, 1]
        assert digests[0] == digests[1]
        first = logs[replicas[0]]
        assert metric(first, "last_loss") < metric(first, "first_loss")
        losses = epoch_losses(first)
        assert losses[-1] < losses[0]
        assert job.metrics["last_loss"] == metric(first, "last_loss")
        assert job.output_uri
        assert Path(job.output_uri.removeprefix("file://"), "model.pt").is_file()
        client.delete_job(name)
