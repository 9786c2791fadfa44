"""ONNX models through onnxruntime (CPU): names, datatypes and shapes come from the graph."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..signature import Signature, TensorSpec
from .base import LoadedModel, import_library, load_failure, signature_or, single_file

SUFFIXES = (".onnx",)

_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


class ONNXModel(LoadedModel):
    platform = "onnxruntime_onnx"
    releases_gil = True

    def __init__(self, session: Any, signature: Signature) -> None:
        super().__init__(signature)
        self._session = session
        self._outputs = [spec.name for spec in signature.outputs]

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {
            name: array.astype(str) if array.dtype == object else array
            for name, array in inputs.items()
        }
        results = self._session.run(self._outputs, feed)
        return dict(zip(self._outputs, (np.asarray(r) for r in results), strict=True))


def load(path: Path) -> ONNXModel:
    ort = import_library("ONNX", "onnxruntime", "onnx")
    model_file = single_file(path, SUFFIXES, "ONNX")
    try:
        session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise load_failure(model_file, "ONNX", exc) from None
    graph = Signature(
        inputs=tuple(_spec(node) for node in session.get_inputs()),
        outputs=tuple(_spec(node) for node in session.get_outputs()),
    )
    return ONNXModel(session, signature_or(model_file, graph))


def _spec(node: Any) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else -1 for d in node.shape)
    return TensorSpec(node.name, _TYPES.get(node.type, "BYTES"), shape)
