"""PyTorch models saved as TorchScript (``torch.jit.save``), run on the CPU.

TorchScript does not record tensor types: without a ``signature.json`` the model takes one
FP32 input ``input-0`` of any shape and answers ``output-0``. Inputs go to ``forward`` in
the signature's order; a tuple result maps onto the signature's outputs in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..signature import Signature, TensorSpec
from .base import LoadedModel, import_library, load_failure, signature_or, single_file

SUFFIXES = (".pt", ".pth", ".torchscript")


class TorchScriptModel(LoadedModel):
    platform = "pytorch_torchscript"
    releases_gil = True

    def __init__(self, module: Any, torch: Any, signature: Signature) -> None:
        super().__init__(signature)
        self._module = module
        self._torch = torch
        self._inputs = signature.input_names
        self._outputs = [spec.name for spec in signature.outputs] or ["output-0"]

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        tensors = [self._torch.from_numpy(np.ascontiguousarray(inputs[n])) for n in self._inputs]
        with self._torch.inference_mode():
            result = self._module(*tensors)
        results = result if isinstance(result, tuple | list) else (result,)
        if len(results) != len(self._outputs):
            raise ValueError(
                f"forward() returned {len(results)} tensors; the signature names "
                f"{len(self._outputs)} outputs {self._outputs}"
            )
        return {
            name: tensor.detach().cpu().numpy()
            for name, tensor in zip(self._outputs, results, strict=True)
        }


def load(path: Path) -> TorchScriptModel:
    torch = import_library("PyTorch", "torch", "torch")
    model_file = single_file(path, SUFFIXES, "TorchScript")
    try:
        module = torch.jit.load(str(model_file), map_location="cpu")
        module.eval()
    except Exception as exc:
        raise load_failure(model_file, "TorchScript", exc) from None
    fallback = Signature(
        inputs=(TensorSpec("input-0", "FP32", None),),
        outputs=(TensorSpec("output-0", "FP32", None),),
    )
    return TorchScriptModel(module, torch, signature_or(model_file, fallback))
