"""KServe v1 bodies: ``{"instances": [...]}`` or ``{"inputs": [...]}`` in,
``{"predictions": [...]}`` out.

v1 carries no datatypes: the rows become one array, converted to the datatype the model's
input declares. A model with several inputs takes instances that are objects keyed by input
name. A model with several outputs answers one object per row, keyed by output name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from .datatypes import dtype_of
from .errors import InvalidRequest
from .signature import Signature
from .tensors import from_json
from .v2 import parse_json

__all__ = ["decode_instances", "encode_predictions"]


def decode_instances(
    body: bytes, signature: Signature
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    document = parse_json(body, "prediction request")
    if not isinstance(document, dict):
        raise InvalidRequest("the prediction request must be a JSON object with 'instances'")
    rows = document.get("instances", document.get("inputs"))
    if not isinstance(rows, list) or not rows:
        raise InvalidRequest(
            "the prediction request needs 'instances' (or 'inputs'): a non-empty list of rows"
        )
    specs = signature.inputs
    if len(specs) == 1 and not isinstance(rows[0], dict):
        columns = {specs[0].name: rows}
    else:
        columns = _by_name(rows, signature)
    inputs: dict[str, np.ndarray] = {}
    datatypes: dict[str, str] = {}
    for spec in specs:
        dtype = dtype_of(spec.datatype)
        assert dtype is not None  # a signature holds protocol datatypes only
        rows = columns[spec.name]
        try:
            if spec.datatype == "BYTES":  # strings to bytes, as v2 gives them
                shape = list(np.asarray(rows, dtype=object).shape)
                array = from_json(spec.name, "BYTES", dtype, shape, rows)
            else:
                array = np.asarray(rows, dtype=dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidRequest(
                f"input {spec.name!r}: the instances are not rows of {spec.datatype} ({exc})"
            ) from None
        inputs[spec.name] = array
        datatypes[spec.name] = spec.datatype
    return inputs, datatypes


def _by_name(rows: list[Any], signature: Signature) -> dict[str, list[Any]]:
    names = signature.input_names
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidRequest(
                f"instances[{index}] must be an object keyed by the model's inputs "
                + ", ".join(repr(n) for n in names)
            )
        for name in names:
            if name not in row:
                raise InvalidRequest(f"instances[{index}] has no input {name!r}")
            columns[name].append(row[name])
    return columns


def encode_predictions(outputs: dict[str, np.ndarray]) -> bytes:
    if len(outputs) == 1:
        (array,) = outputs.values()
        return orjson.dumps({"predictions": _plain(array)}, option=orjson.OPT_SERIALIZE_NUMPY)
    columns = {name: _plain(array) for name, array in outputs.items()}
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    return orjson.dumps({"predictions": rows}, option=orjson.OPT_SERIALIZE_NUMPY)


def _plain(array: np.ndarray) -> Any:
    if array.dtype.kind in "OSU":
        return [
            item.decode("utf-8", "backslashreplace") if isinstance(item, bytes) else item
            for item in array.tolist()
        ]
    return np.ascontiguousarray(array).tolist() if array.ndim > 1 else np.ascontiguousarray(array)
