"""The Open Inference Protocol's tensor datatypes and their numpy counterparts."""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["DATATYPES", "NUMERIC", "datatype_of", "dtype_of"]

DATATYPES: Final[dict[str, np.dtype[np.generic]]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}
"""Every datatype the protocol names; BYTES tensors are object arrays of ``bytes``."""

NUMERIC: Final = frozenset(DATATYPES) - {"BYTES"}

_BY_KIND: Final = {dtype: name for name, dtype in DATATYPES.items() if name != "BYTES"}


def dtype_of(datatype: str) -> np.dtype[np.generic] | None:
    """The numpy dtype of a protocol datatype; None for a name the protocol lacks."""
    return DATATYPES.get(datatype)


def datatype_of(array: np.ndarray) -> str:
    """The protocol datatype of an array (strings and objects are BYTES)."""
    found = _BY_KIND.get(array.dtype)
    if found is not None:
        return found
    if array.dtype.kind in "OSU":
        return "BYTES"
    raise TypeError(f"arrays of dtype {array.dtype} have no Open Inference Protocol datatype")
