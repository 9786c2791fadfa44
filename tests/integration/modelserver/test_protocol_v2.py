"""The Open Inference Protocol v2 and KServe v1 against a real server, with httpx and
tritonclient: health, metadata, JSON and binary tensors of every datatype, outputs selection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from modelserver_support import ECHO_TYPES, FEATURES, ServerProcess, echo_model, model_server

from headrace_modelserver.datatypes import DATATYPES


@pytest.fixture(scope="module")
def sklearn_server(sklearn_path: Path) -> Iterator[ServerProcess]:
    with model_server("--model-name", "lr", "--storage-uri", sklearn_path.as_uri()) as server:
        yield server


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = echo_model(tmp_path_factory.mktemp("echo") / "echo")
    with model_server("--model-name", "echo", "--storage-uri", str(folder)) as server:
        yield server


def triton_client(server: ServerProcess) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


ROWS = np.array([[0.9, 0.9, 0.1, 0.1], [0.1, 0.1, 0.5, 0.5]], dtype=np.float32)


def test_health_and_server_metadata(sklearn_server: ServerProcess) -> None:
    with httpx.Client(base_url=sklearn_server.url) as http:
        assert http.get("/v2/health/live").json() == {"live": True}
        assert http.get("/v2/health/ready").json() == {"ready": True}
        metadata = http.get("/v2").json()
    assert metadata["name"] == "headrace-model-server"
    assert "binary_tensor_data" in metadata["extensions"]
    client = triton_client(sklearn_server)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("lr")
    assert client.is_model_ready("lr", "1")
    assert not client.is_model_ready("other")


def test_model_metadata_from_the_estimator(sklearn_server: ServerProcess) -> None:
    metadata = triton_client(sklearn_server).get_model_metadata("lr", "1")
    assert metadata == {
        "name": "lr",
        "versions": ["1"],
        "platform": "sklearn",
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, FEATURES]}],
        "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
    }


def test_infer_json_flat_and_nested_with_and_without_content_type(
    sklearn_server: ServerProcess,
) -> None:
    nested = {"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": ROWS.tolist()}
    flat = {**nested, "data": ROWS.reshape(-1).tolist()}
    with httpx.Client(base_url=sklearn_server.url) as http:
        answers = [
            http.post("/v2/models/lr/infer", json={"id": "a", "inputs": [nested]}),
            http.post("/v2/models/lr/versions/1/infer", json={"inputs": [flat]}),
            http.post(
                "/v2/models/lr/infer",
                content=httpx.Request("POST", "/", json={"inputs": [flat]}).content,
                headers={"content-type": ""},
            ),
        ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"] == [
            {"name": "output-0", "datatype": "INT64", "shape": [2], "data": [1, 0]}
        ]
    assert answers[0].json()["id"] == "a"
    assert answers[0].json()["model_name"] == "lr"
    assert answers[0].json()["model_version"] == "1"


@pytest.mark.parametrize("binary", [True, False])
def test_infer_with_tritonclient_binary_and_json(
    sklearn_server: ServerProcess, binary: bool
) -> None:
    tensor = triton.InferInput("input-0", [2, 4], "FP64")
    tensor.set_data_from_numpy(ROWS.astype(np.float64), binary_data=binary)
    output = triton.InferRequestedOutput("output-0", binary_data=binary)
    result = triton_client(sklearn_server).infer("lr", [tensor], outputs=[output])
    assert result.as_numpy("output-0").tolist() == [1, 0]


def test_kserve_v1(sklearn_server: ServerProcess) -> None:
    with httpx.Client(base_url=sklearn_server.url) as http:
        assert http.get("/v1/models/lr").json() == {"name": "lr", "ready": True}
        assert http.get("/v1/models").json() == {"models": ["lr"]}
        by_instances = http.post("/v1/models/lr:predict", json={"instances": ROWS.tolist()})
        by_inputs = http.post("/v1/models/lr:predict", json={"inputs": ROWS.tolist()})
        unknown = http.get("/v1/models/other")
    assert by_instances.json() == {"predictions": [1, 0]}
    assert by_inputs.json() == {"predictions": [1, 0]}
    assert unknown.status_code == 404
    assert "unknown model 'other'" in unknown.json()["error"]


def _echo_values(datatype: str) -> np.ndarray:
    if datatype == "BYTES":
        return np.array([[b"a", "é".encode()], [b"", b"xyz"]], dtype=object)
    if datatype == "BOOL":
        return np.array([[True, False], [False, True]])
    dtype = DATATYPES[datatype]
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    return np.array([[info.min, info.max], [0, 1]], dtype=dtype)


@pytest.mark.parametrize("binary", [True, False])
def test_every_datatype_round_trips(echo_server: ServerProcess, binary: bool) -> None:
    client = triton_client(echo_server)
    inputs, outputs = [], []
    for datatype in ECHO_TYPES:
        tensor = triton.InferInput(datatype.lower(), [2, 2], datatype)
        tensor.set_data_from_numpy(_echo_values(datatype), binary_data=binary)
        inputs.append(tensor)
        outputs.append(triton.InferRequestedOutput(datatype.lower(), binary_data=binary))
    result = client.infer("echo", inputs, outputs=outputs)
    for datatype in ECHO_TYPES:
        got = result.as_numpy(datatype.lower())
        want = _echo_values(datatype)
        if datatype == "BYTES" and not binary:  # JSON BYTES come back as text
            got = np.array(
                [
                    [item if isinstance(item, bytes) else item.encode() for item in row]
                    for row in got
                ],
                dtype=object,
            )
        assert got.shape == (2, 2), datatype
        assert got.tolist() == want.tolist(), datatype


def test_outputs_selection_and_binary_output_parameter(echo_server: ServerProcess) -> None:
    client = triton_client(echo_server)
    inputs = []
    for datatype in ECHO_TYPES:
        tensor = triton.InferInput(datatype.lower(), [2, 2], datatype)
        tensor.set_data_from_numpy(_echo_values(datatype), binary_data=False)
        inputs.append(tensor)
    only = client.infer(
        "echo", inputs, outputs=[triton.InferRequestedOutput("int32", binary_data=True)]
    )
    response = only.get_response()
    assert [o["name"] for o in response["outputs"]] == ["int32"]
    assert response["outputs"][0]["parameters"]["binary_data_size"] == 16
    everything = client.infer("echo", inputs)  # no outputs: tritonclient asks binary_data_output
    assert len(everything.get_response()["outputs"]) == len(ECHO_TYPES)
    assert everything.as_numpy("fp16").dtype == np.float16


def test_custom_model_hooks_and_its_own_exception(echo_server: ServerProcess) -> None:
    metadata = triton_client(echo_server).get_model_metadata("echo")
    assert metadata["platform"] == "python"
    assert [i["name"] for i in metadata["inputs"]] == [t.lower() for t in ECHO_TYPES]
    body = {
        "inputs": [
            {
                "name": t.lower(),
                "datatype": t,
                "shape": [1, 2],
                "data": _echo_values(t)[1:].tolist() if t != "BYTES" else ["a", "b"],
            }
            for t in ECHO_TYPES
        ]
    }
    body["inputs"][ECHO_TYPES.index("INT8")]["data"] = [99, 0]
    with httpx.Client(base_url=echo_server.url) as http:
        answer = http.post("/v2/models/echo/infer", json=body)
    assert answer.status_code == 500
    assert answer.json() == {"error": "model 'echo' failed: ValueError: int8 says 99: refusing"}
