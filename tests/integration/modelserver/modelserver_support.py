"""Real model servers for the tests: ``headrace-model-server`` as a subprocess on a free
port, and small models of each format built in a temporary folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SCRIPT = str(Path(sys.executable).parent / "headrace-model-server")
_LISTENING = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")
_LOADED = re.compile(r"model '[^']*' (version \S+ )?(is ready|is not ready: .*)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    url: str = ""

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<exited>")
            self.changed.notify_all()

    def wait_for_line(self, pattern: re.Pattern[str], count: int = 1, timeout: float = 60) -> str:
        """The ``count``-th log line matching ``pattern`` (the log is the event stream)."""
        with self.changed:
            found: list[str] = []

            def seen() -> bool:
                found[:] = [line for line in self.lines if pattern.search(line)]
                return len(found) >= count or "<exited>" in self.lines

            if not self.changed.wait_for(seen, timeout) or len(found) < count:
                raise AssertionError(
                    f"no log line {pattern.pattern!r} from the model server:\n"
                    + "\n".join(self.lines[-40:])
                )
            return found[count - 1]

    @property
    def log(self) -> str:
        with self.changed:
            return "\n".join(self.lines)


@contextmanager
def model_server(
    *args: str, workers: int = 1, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """A started server, once it listens and its model (in every worker) is loaded or failed."""
    process = subprocess.Popen(
        [SCRIPT, "--host", "127.0.0.1", "--port", "0", "--workers", str(workers), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    server = ServerProcess(process)
    threading.Thread(target=server._drain, daemon=True).start()
    try:
        match = _LISTENING.search(server.wait_for_line(_LISTENING))
        assert match is not None
        server.url = f"http://{match.group(1)}:{match.group(2)}"
        server.wait_for_line(_LOADED, count=workers)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# models ------------------------------------------------------------------------------

FEATURES = 4


def training_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((200, FEATURES))
    return x, (x[:, 0] + x[:, 1] > 1.0).astype(np.int64)


def sklearn_model(folder: Path) -> Path:
    import joblib
    from sklearn.linear_model import LogisticRegression

    x, y = training_data()
    path = folder / "model.joblib"
    joblib.dump(LogisticRegression().fit(x, y), path)
    return path


def xgboost_model(folder: Path) -> Path:
    import xgboost

    x, y = training_data()
    booster = xgboost.train({"objective": "binary:logistic"}, xgboost.DMatrix(x, y), 5)
    path = folder / "model.ubj"
    booster.save_model(str(path))
    return path


def lightgbm_model(folder: Path) -> Path:
    import lightgbm

    x, y = training_data()
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1}, lightgbm.Dataset(x, y), 5
    )
    path = folder / "model.txt"
    booster.save_model(str(path))
    return path


def onnx_model(folder: Path) -> Path:
    """y = x @ w, with a dynamic batch axis: input 'x' FP32 [-1, 4], output 'y' FP32 [-1, 1]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(
        np.arange(1, FEATURES + 1, dtype=np.float32).reshape(FEATURES, 1), "w"
    )
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save(model, str(path))
    return path


def torchscript_model(folder: Path) -> Path:
    import torch

    class Doubler(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    path = folder / "model.pt"
    with warnings.catch_warnings():  # TorchScript is deprecated upstream, still what we load
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(Doubler()), str(path))
    (folder / "signature.json").write_text(
        json.dumps(
            {
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, FEATURES]}],
                "outputs": [{"name": "doubled", "datatype": "FP32", "shape": [-1, FEATURES]}],
            }
        )
    )
    return path


ECHO_TYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
              "FP16", "FP32", "FP64", "BYTES"]  # fmt: skip


def echo_model(folder: Path) -> Path:
    """A custom Python model answering each of its inputs (one per datatype) as an output, with
    preprocess and postprocess hooks that leave a trace, and a 'fail' switch."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [{"name": t.lower(), "datatype": t, "shape": [-1, 2]} for t in ECHO_TYPES]
    (folder / "model.py").write_text(
        textwrap.dedent(
            f"""
            import numpy as np

            class Model:
                inputs = {specs!r}
                outputs = {specs!r}

                def load(self, folder):
                    self.loaded_from = folder

                def preprocess(self, inputs):
                    if inputs["int8"].size and inputs["int8"].flat[0] == 99:
                        raise ValueError("int8 says 99: refusing")
                    return inputs

                def predict(self, inputs):
                    return dict(inputs)

                def postprocess(self, outputs):
                    return outputs
            """
        )
    )
    return folder


def batch_size_model(folder: Path) -> Path:
    """A custom model answering, for each row, how many rows its predict call got."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            class Model:
                def predict(self, inputs):
                    rows = inputs["input-0"].shape[0]
                    return np.full(rows, rows, dtype=np.int64)
            """
        )
    )
    return folder
