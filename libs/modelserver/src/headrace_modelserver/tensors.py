"""Tensor data to and from numpy arrays: JSON data (flat or nested) and the binary tensor
extension's raw bytes (little-endian; BYTES elements prefixed by a 4-byte length)."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from .errors import InvalidRequest

__all__ = ["from_binary", "from_json", "to_binary", "to_json_data"]

_LENGTH = struct.Struct("<I")


def from_json(
    name: str, datatype: str, dtype: np.dtype[Any], shape: list[int], data: Any
) -> np.ndarray:
    """The array of a JSON tensor, checked against its shape."""
    if not isinstance(data, list):
        data = [data]
    try:
        if datatype == "BYTES":
            raw = np.asarray(data, dtype=object).reshape(-1)
            array = np.empty(raw.shape, dtype=object)
            for i, item in enumerate(raw):
                array[i] = _as_bytes(name, item)
        else:
            array = np.asarray(data, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidRequest(
            f"input {name!r}: its data is not a {datatype} tensor ({exc}); give numbers in a "
            "flat or nested list"
        ) from None
    return _shaped(name, array, shape)


def from_binary(
    name: str, datatype: str, dtype: np.dtype[Any], shape: list[int], chunk: bytes
) -> np.ndarray:
    """The array of a binary tensor; the chunk's length must fit the shape exactly."""
    count = math.prod(shape)
    if datatype == "BYTES":
        return _shaped(name, _split_bytes(name, chunk), shape)
    expected = count * dtype.itemsize
    if len(chunk) != expected:
        raise InvalidRequest(
            f"input {name!r}: binary_data_size is {len(chunk)} bytes, but shape {shape} of "
            f"{datatype} takes {expected}"
        )
    return np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).reshape(shape)


def _shaped(name: str, array: np.ndarray, shape: list[int]) -> np.ndarray:
    count = math.prod(shape)
    if array.size != count:
        raise InvalidRequest(
            f"input {name!r} has shape {shape} ({count} elements) but its data holds {array.size}"
        )
    return array.reshape(shape)


def _as_bytes(name: str, item: Any) -> bytes:
    if isinstance(item, str):
        return item.encode()
    if isinstance(item, bytes):
        return item
    raise InvalidRequest(f"input {name!r}: a BYTES element must be a string, not {item!r}")


def _split_bytes(name: str, chunk: bytes) -> np.ndarray:
    items: list[bytes] = []
    offset = 0
    while offset < len(chunk):
        if offset + 4 > len(chunk):
            raise InvalidRequest(f"input {name!r}: BYTES data ends inside an element's length")
        (length,) = _LENGTH.unpack_from(chunk, offset)
        offset += 4
        if offset + length > len(chunk):
            raise InvalidRequest(
                f"input {name!r}: a BYTES element of {length} bytes runs past binary_data_size"
            )
        items.append(chunk[offset : offset + length])
        offset += length
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def to_json_data(array: np.ndarray) -> Any:
    """Flat data for JSON: numeric arrays go to orjson as they are (OPT_SERIALIZE_NUMPY)."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype.kind in "OSU":
        return [_as_text(item) for item in flat]
    return flat


def _as_text(item: Any) -> str:
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="backslashreplace")
    return str(item)


def to_binary(array: np.ndarray) -> bytes:
    """Raw little-endian bytes of a tensor (BYTES: each element length-prefixed)."""
    if array.dtype.kind in "OSU":
        parts: list[bytes] = []
        for item in array.reshape(-1):
            raw = item if isinstance(item, bytes) else str(item).encode()
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
