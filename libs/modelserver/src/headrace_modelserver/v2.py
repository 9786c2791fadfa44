"""Open Inference Protocol v2 inference bodies: request decoding and response encoding.

A request is JSON, or with the binary tensor extension a JSON header of
``Inference-Header-Content-Length`` bytes followed by the inputs' raw data in order (each
input's ``parameters.binary_data_size`` says how much is its). Outputs come back as JSON
data unless the request asks for binary (``outputs[].parameters.binary_data`` or the request
parameter ``binary_data_output``). Decoding validates the body once and yields numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from .datatypes import datatype_of, dtype_of
from .errors import InvalidRequest
from .tensors import from_binary, from_json, to_binary, to_json_data

__all__ = ["HEADER_LENGTH", "InferRequest", "decode_request", "encode_response", "parse_json"]

HEADER_LENGTH = "inference-header-content-length"
_DUMP = orjson.OPT_SERIALIZE_NUMPY


@dataclass(slots=True)
class InferRequest:
    inputs: dict[str, np.ndarray]
    datatypes: dict[str, str]
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[tuple[str, bool]] | None = None
    """Requested outputs, each with whether it goes back as binary; None: all."""
    binary_output: bool = False


def parse_json(body: bytes, what: str = "request body") -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the {what} is not JSON: {exc}") from None


def decode_request(body: bytes, header_length: str | None) -> InferRequest:
    """Decode and validate an infer request body into arrays."""
    binary = b""
    if header_length is not None:
        size = _header_size(header_length, len(body))
        body, binary = body[:size], body[size:]
    document = parse_json(body, "inference request")
    if not isinstance(document, dict):
        raise InvalidRequest("the inference request must be a JSON object with an 'inputs' list")
    raw_inputs = document.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidRequest("the inference request needs 'inputs': a non-empty list of tensors")
    inputs: dict[str, np.ndarray] = {}
    datatypes: dict[str, str] = {}
    offset = 0
    for index, raw in enumerate(raw_inputs):
        name, datatype, array, used = _decode_input(index, raw, binary, offset)
        if name in inputs:
            raise InvalidRequest(f"input {name!r} is given twice")
        inputs[name] = array
        datatypes[name] = datatype
        offset += used
    if offset != len(binary):
        raise InvalidRequest(
            f"the binary data after the JSON header is {len(binary)} bytes, but the inputs' "
            f"binary_data_size add up to {offset}: check Inference-Header-Content-Length"
        )
    parameters = _object(document.get("parameters"), "parameters")
    request_id = document.get("id")
    return InferRequest(
        inputs=inputs,
        datatypes=datatypes,
        id=None if request_id is None else str(request_id),
        parameters=parameters,
        outputs=_requested_outputs(document.get("outputs")),
        binary_output=bool((parameters or {}).get("binary_data_output", False)),
    )


def _header_size(value: str, body_size: int) -> int:
    try:
        size = int(value)
    except ValueError:
        size = -1
    if not 0 <= size <= body_size:
        raise InvalidRequest(
            f"Inference-Header-Content-Length is {value!r}, but the body is {body_size} bytes: "
            "give the length of the JSON header in bytes"
        )
    return size


def _decode_input(
    index: int, raw: Any, binary: bytes, offset: int
) -> tuple[str, str, np.ndarray, int]:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"inputs[{index}] must be an object with name, shape, datatype")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"inputs[{index}] has no 'name'")
    datatype = raw.get("datatype")
    dtype = dtype_of(datatype) if isinstance(datatype, str) else None
    if dtype is None or not isinstance(datatype, str):
        raise InvalidRequest(
            f"input {name!r} has datatype {datatype!r}: use one of BOOL, UINT8, UINT16, UINT32, "
            "UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES"
        )
    shape = raw.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InvalidRequest(f"input {name!r} has shape {shape!r}: give a list of sizes >= 0")
    parameters = _object(raw.get("parameters"), f"input {name!r} parameters") or {}
    size = parameters.get("binary_data_size")
    if size is None:
        if "data" not in raw:
            raise InvalidRequest(f"input {name!r} has no 'data' (nor binary_data_size)")
        return name, datatype, from_json(name, datatype, dtype, shape, raw["data"]), 0
    if not isinstance(size, int) or size < 0 or offset + size > len(binary):
        raise InvalidRequest(
            f"input {name!r} has binary_data_size {size!r}, but only {len(binary) - offset} "
            "bytes of binary data are left after the JSON header"
        )
    chunk = binary[offset : offset + size]
    return name, datatype, from_binary(name, datatype, dtype, shape, chunk), size


def _object(value: Any, what: str) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise InvalidRequest(f"{what} must be a JSON object")


def _requested_outputs(value: Any) -> list[tuple[str, bool]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequest("'outputs' must be a list of {\"name\": ...}")
    requested: list[tuple[str, bool]] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidRequest(f"outputs[{index}] must be an object with a 'name'")
        parameters = _object(item.get("parameters"), f"output {item['name']!r} parameters")
        requested.append((item["name"], bool((parameters or {}).get("binary_data", False))))
    return requested


def select_outputs(
    request: InferRequest, outputs: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray, bool]]:
    """The outputs the request asked for, each with whether it goes back as binary."""
    if request.outputs is None:
        return [(name, array, request.binary_output) for name, array in outputs.items()]
    chosen = []
    for name, binary in request.outputs:
        if name not in outputs:
            raise InvalidRequest(
                f"the model has no output {name!r}: its outputs are "
                + ", ".join(repr(n) for n in outputs)
            )
        chosen.append((name, outputs[name], binary or request.binary_output))
    return chosen


def encode_response(
    model_name: str,
    model_version: str,
    request: InferRequest,
    outputs: dict[str, np.ndarray],
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary outputs follow it."""
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name, array, binary in select_outputs(request, outputs):
        tensor: dict[str, Any] = {
            "name": name,
            "datatype": datatype_of(array),
            "shape": list(array.shape),
        }
        if binary:
            blob = to_binary(array)
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = to_json_data(array)
        tensors.append(tensor)
    response: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request.id is not None:
        response["id"] = request.id
    response["outputs"] = tensors
    header = orjson.dumps(response, option=_DUMP)
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)
