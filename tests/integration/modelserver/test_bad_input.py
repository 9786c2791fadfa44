"""Every bad input the issue lists, against a real server: the protocol's {"error": ...}
with the right status, naming the thing and the fix, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelserver_support import model_server

LIMIT = 4096


@pytest.fixture(scope="module")
def http(sklearn_path: Path) -> Iterator[httpx.Client]:
    args = ("--model-name", "lr", "--storage-uri", str(sklearn_path))
    with (
        model_server(*args, "--max-payload-bytes", str(LIMIT)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        yield client


def tensor(**override: object) -> dict[str, object]:
    return {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]} | override


def error(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert list(body) == ["error"]
    assert "Traceback" not in body["error"]
    return str(body["error"])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            {"inputs": [tensor(shape=[1, 3], data=[1, 2, 3])]},
            "has shape [1, 3], the model expects [-1, 4]",
        ),
        (
            {"inputs": [tensor(shape=[1, 4], data=[1, 2, 3])]},
            "has shape [1, 4] (4 elements) but its data holds 3",
        ),
        (
            {"inputs": [tensor(datatype="BYTES", data=["a", "b", "c", "d"])]},
            "has datatype BYTES, the model expects a numeric datatype",
        ),
        ({"inputs": [tensor(datatype="FP128")]}, "has datatype 'FP128': use one of BOOL"),
        ({"inputs": [tensor(data=["x", "y", "z", "w"])]}, "its data is not a FP32 tensor"),
        (
            {"inputs": [tensor(name="features")]},
            "missing input 'input-0': the model takes 'input-0'",
        ),
        ({"inputs": []}, "needs 'inputs'"),
        ({"inputs": [tensor(), tensor(name="extra")]}, "unexpected input 'extra'"),
        (
            {"inputs": [tensor()], "outputs": [{"name": "nope"}]},
            "no output 'nope': its outputs are 'output-0'",
        ),
    ],
)
def test_bad_tensors_are_400_naming_the_input(
    http: httpx.Client, body: dict[str, object], says: str
) -> None:
    assert says in error(http.post("/v2/models/lr/infer", json=body), 400)


def test_non_json_body(http: httpx.Client) -> None:
    assert "is not JSON" in error(http.post("/v2/models/lr/infer", content=b"{nope"), 400)
    assert "is not JSON" in error(http.post("/v1/models/lr:predict", content=b"[1,"), 400)


def test_binary_data_whose_length_disagrees_with_the_header(http: httpx.Client) -> None:
    header = (
        b'{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32",'
        b'"parameters":{"binary_data_size":16}}]}'
    )
    data = b"\x00" * 16
    cases = [
        (header + data + b"\x00", len(header), "binary_data_size add up to 16"),
        (header + data[:8], len(header), "only 8 bytes of binary data are left"),
        (header + data, len(header) + 100, "Inference-Header-Content-Length is"),
        (header + data, "x", "Inference-Header-Content-Length is 'x'"),
    ]
    for body, length, says in cases:
        answer = http.post(
            "/v2/models/lr/infer",
            content=body,
            headers={"Inference-Header-Content-Length": str(length)},
        )
        assert says in error(answer, 400)
    wrong_size = header.replace(b"16", b"12")
    answer = http.post(
        "/v2/models/lr/infer",
        content=wrong_size + data[:12],
        headers={"Inference-Header-Content-Length": str(len(wrong_size))},
    )
    assert "binary_data_size is 12 bytes, but shape [1, 4] of FP32 takes 16" in error(answer, 400)


def test_oversized_payload_is_413(http: httpx.Client) -> None:
    big = {"inputs": [tensor(shape=[1000, 4], data=[0.5] * 4000)]}
    assert "over the server's limit of 4096 bytes" in error(
        http.post("/v2/models/lr/infer", json=big), 413
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"inputs": ['
        yield b" " * LIMIT
        yield b"]}"

    assert "over the server's limit" in error(
        http.post("/v2/models/lr/infer", content=chunks()), 413
    )


def test_unknown_model_and_version_are_404(http: httpx.Client) -> None:
    assert "unknown model 'x'" in error(http.post("/v2/models/x/infer", json={}), 404)
    assert "unknown model 'lr' version '7'" in error(http.get("/v2/models/lr/versions/7"), 404)
    assert "unknown model 'x'" in error(http.post("/v1/models/x:predict", json={}), 404)
    assert "no such endpoint" in error(http.get("/v3"), 404)


def test_storage_uri_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "gone.joblib"
    with (
        model_server("--model-name", "m", "--storage-uri", missing.as_uri()) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        reason = f"storage URI {missing.as_uri()} does not exist"
        assert http.get("/v2/health/live").status_code == 200
        assert reason in error(http.get("/v2/models/m/ready"), 503)
        assert reason in error(http.get("/v2/health/ready"), 503)
        assert reason in error(http.post("/v2/models/m/infer", json={}), 503)
        assert http.get("/v1/models/m").json() == {"name": "m", "ready": False}
    assert reason in server.log


def test_corrupt_model_is_not_ready_with_the_reason(tmp_path: Path) -> None:
    corrupt = tmp_path / "model.joblib"
    corrupt.write_bytes(b"this is not a pickle")
    with (
        model_server("--model-name", "m", "--storage-uri", str(corrupt)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        reason = error(http.get("/v2/models/m/ready"), 503)
    assert f"cannot load {corrupt} as a scikit-learn model" in reason
    assert f"model 'm' is not ready: cannot load {corrupt}" in server.log
