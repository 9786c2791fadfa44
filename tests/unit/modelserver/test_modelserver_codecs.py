"""Pure logic of the model server: tensor codecs, request decoding, batching's merge and
split, format detection and signature files."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from headrace_modelserver import InvalidRequest, ModelLoadError, PredictionFailed, detect_format
from headrace_modelserver.batching import Batcher, merge, split
from headrace_modelserver.datatypes import DATATYPES
from headrace_modelserver.signature import read_signature
from headrace_modelserver.tensors import from_binary, to_binary
from headrace_modelserver.v2 import decode_request, encode_response


def test_nested_and_flat_json_decode_to_the_same_array() -> None:
    nested = {"name": "x", "shape": [2, 2], "datatype": "INT16", "data": [[1, 2], [3, 4]]}
    flat = {**nested, "data": [1, 2, 3, 4]}
    a = decode_request(json.dumps({"inputs": [nested]}).encode(), None).inputs["x"]
    b = decode_request(json.dumps({"inputs": [flat]}).encode(), None).inputs["x"]
    assert a.dtype == np.int16
    assert a.tolist() == b.tolist() == [[1, 2], [3, 4]]


def test_out_of_range_integers_are_refused() -> None:
    body = {"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [300]}]}
    with pytest.raises(InvalidRequest, match="input 'x': its data is not a UINT8 tensor"):
        decode_request(json.dumps(body).encode(), None)


@pytest.mark.parametrize("datatype", sorted(DATATYPES))
def test_binary_round_trip(datatype: str) -> None:
    if datatype == "BYTES":
        array = np.array([b"ab", b"", b"\x00\xff"], dtype=object)
    else:
        array = np.arange(3).astype(DATATYPES[datatype])
    blob = to_binary(array)
    back = from_binary("x", datatype, DATATYPES[datatype], [3], blob)
    assert back.tolist() == array.tolist()


def test_bytes_element_running_past_the_data_is_refused() -> None:
    blob = struct.pack("<I", 10) + b"abc"
    with pytest.raises(InvalidRequest, match="runs past binary_data_size"):
        from_binary("s", "BYTES", DATATYPES["BYTES"], [1], blob)


def test_binary_response_carries_the_header_length() -> None:
    body = {
        "inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]}],
        "parameters": {"binary_data_output": True},
    }
    request = decode_request(json.dumps(body).encode(), None)
    content, length = encode_response("m", "1", request, {"y": np.array([1.5, 2.5], np.float32)})
    assert length is not None
    header = json.loads(content[:length])
    assert header["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert np.frombuffer(content[length:], "<f4").tolist() == [1.5, 2.5]


def test_split_refuses_a_batch_answer_of_the_wrong_length() -> None:
    merged = merge([{"x": np.zeros((2, 3))}, {"x": np.ones((1, 3))}])
    assert merged["x"].shape == (3, 3)
    parts = split({"y": np.arange(3)}, [2, 1])
    assert [p["y"].tolist() for p in parts] == [[0, 1], [2]]
    with pytest.raises(PredictionFailed, match="one row per input row"):
        split({"y": np.arange(2)}, [2, 1])


async def test_batcher_merges_what_arrives_together() -> None:
    sizes: list[int] = []

    async def predict(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        sizes.append(len(inputs["x"]))
        return {"y": inputs["x"][:, 0] * 2}

    batcher = Batcher(predict, max_batch_size=3, max_latency=60.0)
    rows = [np.array([[float(i)]]) for i in range(3)]
    answers = await asyncio.gather(*(batcher.submit({"x": row}) for row in rows))
    assert sizes == [3]
    assert [a["y"].tolist() for a in answers] == [[0.0], [2.0], [4.0]]


def test_format_detection_and_its_error(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"")
    (tmp_path / "signature.json").write_text("{}")
    assert detect_format(tmp_path) == "onnx"
    (tmp_path / "model.py").write_text("")
    assert detect_format(tmp_path) == "custom"
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"from its files \['weights.bin'\]: give --format"):
        detect_format(tmp_path / "weights.bin")


def test_invalid_signature_file_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "signature.json").write_text('{"inputs": [{"name": "x", "datatype": "FP8"}]}')
    with pytest.raises(ModelLoadError, match="is not a valid signature: datatype 'FP8'"):
        read_signature(tmp_path / "model.pt")


async def test_batcher_flushes_a_lone_request_at_max_latency_and_keeps_shapes_apart() -> None:
    calls: list[list[int]] = []

    async def predict(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        calls.append(list(inputs["x"].shape))
        return {"y": inputs["x"].sum(axis=1)}

    batcher = Batcher(predict, max_batch_size=100, max_latency=0.001)
    lone = await batcher.submit({"x": np.ones((1, 2))})
    assert lone["y"].tolist() == [2.0]
    narrow, wide = await asyncio.gather(
        batcher.submit({"x": np.ones((1, 2))}), batcher.submit({"x": np.ones((1, 3))})
    )
    assert (narrow["y"].tolist(), wide["y"].tolist()) == ([2.0], [3.0])
    assert sorted(calls) == [[1, 2], [1, 2], [1, 3]]  # rows of 2 and of 3 never stack


async def test_a_failing_batch_fails_every_request_in_it() -> None:
    async def predict(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise PredictionFailed("model 'm' failed: ValueError: no")

    batcher = Batcher(predict, max_batch_size=2, max_latency=60.0)
    answers = await asyncio.gather(
        batcher.submit({"x": np.ones((1, 1))}),
        batcher.submit({"x": np.ones((1, 1))}),
        return_exceptions=True,
    )
    assert [str(a) for a in answers] == ["model 'm' failed: ValueError: no"] * 2
