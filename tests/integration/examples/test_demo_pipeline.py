"""examples/demo_pipeline.py, the pipeline of `make demo`, end to end on the platform: a real
nats-server and the scheduler, trainer, tuner and metadata service as processes of their own
(as `headrace up` runs them; on PostgreSQL with HEADRACE_TEST_DATABASE_URL). Raw data is
prepared, a Katib experiment tunes C (its trials are training jobs), the best C is trained,
evaluated, registered with its metrics, and promoted to `production` only when the registry
finds the condition holds; the promoted version is served by a real `headrace-model-server`.

(No ``from __future__ import annotations``: the example's kfp components are loaded here.)
"""

import contextlib
import importlib.util
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from headrace import Client
from headrace.run_errors import PlatformUnavailable, RunNotFound
from headrace_testing import BlockingServiceProcess, nats_for_test, service_settings
from headrace_testing.database import postgres_url, reset_postgres

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "demo_pipeline.py"
SERVICES = ("scheduler", "trainer", "tuner", "metadata")


def example() -> ModuleType:
    found = importlib.util.spec_from_file_location("demo_pipeline", EXAMPLE)
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("demo")
    home = folder / "home"
    database_url = postgres_url()
    if database_url is not None:
        reset_postgres(database_url)
    with nats_for_test(folder) as nats:
        settings = service_settings(home, nats.url, database_url=database_url)
        processes = [
            BlockingServiceProcess(f"headrace-{name}", settings, home / f"{name}.log")
            for name in SERVICES
        ]
        for process in processes:
            process.start()
        try:
            yield nats.url
        finally:
            for process in processes:
                process.stop()


@pytest.fixture(scope="module")
def client(nats_url: str) -> Iterator[Client]:
    with Client(nats_url=nats_url, timeout=10) as found:
        _ready(found)
        yield found


def _ready(client: Client) -> None:
    """Until the scheduler, the trainer, the tuner and the metadata service all answer."""
    import time

    deadline = time.monotonic() + 60
    while True:
        try:
            with contextlib.suppress(RunNotFound):  # the scheduler answers (metadata lists runs)
                client.get("no-such-run")
            client.list_runs()
            client.list_jobs()
            client.list_experiments()
            client.list_models()
            return
        except PlatformUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_raw_data_to_a_promoted_model_then_a_better_version(client: Client, nats_url: str) -> None:
    pipeline = example().demo_pipeline
    first = client.wait(
        client.submit(pipeline, {"c_grid": "0.002,0.005", "model_name": "demo"}), timeout=300
    )
    assert first.state == "SUCCEEDED", first.error
    prepared = next(s for s in first.steps if s.step_id == "prepare")
    [train_data] = prepared.output_artifacts["train_data"]
    assert train_data.metadata["dropped_rows"] > 0  # the raw rows were cleaned
    tuned = next(s for s in first.steps if s.step_id == "tune")
    assert tuned.output_parameters["Output"] in (0.002, 0.005)

    model = client.get_model("demo")
    assert (model.latest_version, model.aliases) == (1, {"production": 1})
    one = client.get_model_version("models:/demo/1")
    assert (one.run_id, one.step_id, one.framework) == (first.run_id, "evaluate", "sklearn")
    assert 0.9 <= one.metrics["accuracy"] < 0.97
    assert first.output_parameters["Output"] == (
        f"demo@production -> version 1 (accuracy {one.metrics['accuracy']:.4f})"
    )
    assert _served(nats_url, "models:/demo@production") == ("1", 0)

    second = client.wait(
        client.submit(pipeline, {"c_grid": "0.1,0.3,1", "model_name": "demo"}), timeout=300
    )
    assert second.state == "SUCCEEDED", second.error
    two = client.get_model_version("models:/demo/2")
    assert two.metrics["accuracy"] > one.metrics["accuracy"]
    assert client.get_model("demo").aliases == {"production": 2}
    assert _served(nats_url, "models:/demo@production") == ("2", 0)

    # the same run again: every step but promote is cached, and so is the version it finds
    again = client.wait(
        client.submit(pipeline, {"c_grid": "0.1,0.3,1", "model_name": "demo"}), timeout=300
    )
    assert again.state == "SUCCEEDED", again.error
    assert {s.step_id: s.state for s in again.steps}["promote"] == "SUCCEEDED"
    assert {s.state for s in again.steps if s.step_id != "promote"} == {"CACHED"}
    assert again.output_parameters["Output"].startswith("demo@production -> version 2 ")
    assert client.get_model("demo").latest_version == 2


def test_a_model_below_the_condition_is_registered_not_promoted(client: Client) -> None:
    run = client.wait(
        client.submit(
            example().demo_pipeline,
            {"c_grid": "1", "model_name": "demo-gated", "min_accuracy": 1.01},
        ),
        timeout=300,
    )
    assert run.state == "SUCCEEDED", run.error
    model = client.get_model("demo-gated")
    assert (model.latest_version, model.aliases) == (1, {})
    accuracy = client.get_model_version("models:/demo-gated/1").metrics["accuracy"]
    said = run.output_parameters["Output"]
    assert said.startswith("demo-gated version 1 not promoted: ")
    assert "does not meet 'metrics.accuracy >= 1.01'" in said
    assert f"accuracy={accuracy:.6f}" in said


_LISTENING = re.compile(r"Uvicorn running on (http://[\d.]+:\d+)")
_LOADED = re.compile(r"model 'demo' (version \S+ )?(is ready|is not ready: .*)")


def _served(nats_url: str, uri: str) -> tuple[str, int]:
    """Serve ``uri`` with a real model server (format sklearn), send it a malignant row of
    the data set as a v2 FP64 tensor; the version that answered and its prediction."""
    from sklearn.datasets import load_breast_cancer

    row = [float(v) for v in load_breast_cancer().data[0]]  # target 0: malignant
    script = str(Path(sys.executable).parent / "headrace-model-server")
    args = ["--model-name", "demo", "--storage-uri", uri, "--format", "sklearn"]
    with subprocess.Popen(
        [script, "--host", "127.0.0.1", "--port", "0", *args, "--nats-url", nats_url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stderr is not None
            url, loaded, seen = "", "", []
            for line in server.stderr:  # the log is the event stream
                seen.append(line)
                if found := _LISTENING.search(line):
                    url = found.group(1)
                if found := _LOADED.search(line):
                    loaded = found.group(0)
                if url and loaded:
                    break
            assert loaded.endswith("is ready"), "".join(seen[-20:])
            body = {
                "inputs": [{"name": "input-0", "shape": [1, 30], "datatype": "FP64", "data": row}]
            }
            request = urllib.request.Request(
                f"{url}/v2/models/demo/infer",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
            [output] = answer["outputs"]
            return str(answer["model_version"]), int(output["data"][0])
        finally:
            server.terminate()
            server.wait(timeout=20)
