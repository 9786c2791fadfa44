"""Each format whose library installs here, served by a real server and called with
tritonclient (binary tensors) and KServe v1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from modelserver_support import (
    FEATURES,
    lightgbm_model,
    model_server,
    onnx_model,
    torchscript_model,
    training_data,
    xgboost_model,
)

X = training_data()[0][:3]


def _expect_xgboost(path: Path) -> np.ndarray:
    import xgboost

    return np.asarray(xgboost.Booster(model_file=str(path)).inplace_predict(X))


def _expect_lightgbm(path: Path) -> np.ndarray:
    import lightgbm

    return np.asarray(lightgbm.Booster(model_file=str(path)).predict(X))


CASES: list[tuple[str, Callable[[Path], Path], str, str, str, Callable[[Path], np.ndarray]]] = [
    # format, builder, input, its datatype, output, expected
    ("xgboost", xgboost_model, "input-0", "FP32", "output-0", _expect_xgboost),
    ("lightgbm", lightgbm_model, "input-0", "FP64", "output-0", _expect_lightgbm),
    ("onnx", onnx_model, "x", "FP32", "y", lambda _: X @ np.arange(1, FEATURES + 1).reshape(-1, 1)),
    ("pytorch", torchscript_model, "x", "FP32", "doubled", lambda _: X * 2),
]


@pytest.mark.parametrize(
    ("fmt", "build", "name", "datatype", "output", "expect"), CASES, ids=[c[0] for c in CASES]
)
def test_format_serves_v2_and_v1(
    tmp_path: Path,
    fmt: str,
    build: Callable[[Path], Path],
    name: str,
    datatype: str,
    output: str,
    expect: Callable[[Path], np.ndarray],
) -> None:
    pytest.importorskip({"pytorch": "torch", "onnx": "onnxruntime"}.get(fmt, fmt))
    path = build(tmp_path)
    args = ("--model-name", fmt, "--storage-uri", path.as_uri(), "--format", fmt)
    with model_server(*args) as server:
        client = triton.InferenceServerClient(server.url.removeprefix("http://"))
        metadata = client.get_model_metadata(fmt)
        assert metadata["inputs"][0]["name"] == name
        assert metadata["inputs"][0]["datatype"] == datatype
        assert metadata["outputs"][0]["name"] == output
        tensor = triton.InferInput(name, [3, FEATURES], datatype)
        tensor.set_data_from_numpy(X.astype(np.float32 if datatype == "FP32" else np.float64))
        result = client.infer(fmt, [tensor], outputs=[triton.InferRequestedOutput(output)])
        np.testing.assert_allclose(result.as_numpy(output), expect(path), rtol=1e-5)
        with httpx.Client(base_url=server.url) as http:
            answer = http.post(f"/v1/models/{fmt}:predict", json={"instances": X.tolist()})
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], expect(path), rtol=1e-5)
        if fmt == "onnx":  # the graph's datatypes are exact
            body = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1] * 4}]}
            with httpx.Client(base_url=server.url) as http:
                answer = http.post("/v2/models/onnx/infer", json=body)
            assert answer.status_code == 400
            assert answer.json() == {"error": "input 'x' has datatype FP64, the model expects FP32"}


def test_a_missing_format_library_names_the_extra(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    path = onnx_model(tmp_path / "model")
    # A module that fails to import stands for onnxruntime not being installed.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "onnxruntime.py").write_text("raise ImportError('not installed')\n")
    env = {"PYTHONPATH": str(shadow)}
    with (
        model_server("--model-name", "m", "--storage-uri", str(path), env=env) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        answer = http.get("/v2/models/m/ready")
    assert answer.status_code == 503
    assert answer.json() == {
        "error": "model 'm' is not ready: the ONNX format needs the Python package "
        "'onnxruntime', which is not installed: install it with "
        "`pip install 'headrace-modelserver[onnx]'`"
    }
