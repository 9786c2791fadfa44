"""A custom Python model: a folder with ``model.py`` defining a class ``Model``::

    class Model:
        inputs = [{"name": "text", "datatype": "BYTES", "shape": [-1]}]   # optional
        outputs = [{"name": "length", "datatype": "INT64", "shape": [-1]}]  # optional

        def load(self, folder):              # optional: read weights from the folder
            ...
        def preprocess(self, inputs):        # optional: dict of arrays -> dict of arrays
            return inputs
        def predict(self, inputs):           # dict of arrays -> array or dict of arrays
            ...
        def postprocess(self, outputs):      # optional: dict of arrays -> dict of arrays
            return outputs

The class's ``inputs``/``outputs`` (or a ``signature.json``) declare the signature; without
them the model takes one numeric input ``input-0`` of any shape and answers ``output-0``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelLoadError
from ..signature import Signature, TensorSpec, read_signature
from .base import LoadedModel, load_failure

MODULE_FILE = "model.py"
CLASS_NAME = "Model"


class CustomModel(LoadedModel):
    platform = "python"

    def __init__(self, instance: Any, signature: Signature) -> None:
        super().__init__(signature)
        self._instance = instance
        self._pre = getattr(instance, "preprocess", None)
        self._post = getattr(instance, "postprocess", None)
        self._outputs = [spec.name for spec in signature.outputs] or ["output-0"]

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        prepared = self._pre(dict(inputs)) if self._pre else dict(inputs)
        result = self._instance.predict(prepared)
        outputs = (
            {name: np.asarray(value) for name, value in result.items()}
            if isinstance(result, Mapping)
            else {self._outputs[0]: np.asarray(result)}
        )
        return dict(self._post(outputs)) if self._post else outputs


def load(path: Path) -> CustomModel:
    source = path / MODULE_FILE if path.is_dir() else path
    if source.name != MODULE_FILE and source.suffix != ".py":
        raise ModelLoadError(f"a custom Python model is a folder with {MODULE_FILE}; got {path}")
    if not source.is_file():
        raise ModelLoadError(f"{path} has no {MODULE_FILE} defining class {CLASS_NAME}")
    folder = source.parent
    try:
        instance = _instantiate(source)
        if callable(getattr(instance, "load", None)):
            instance.load(folder)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise load_failure(source, "custom Python", exc) from None
    if not callable(getattr(instance, "predict", None)):
        raise ModelLoadError(f"class {CLASS_NAME} in {source} has no predict(inputs) method")
    signature = read_signature(source) or _declared(instance)
    return CustomModel(instance, signature)


def _instantiate(source: Path) -> Any:
    name = f"headrace_custom_model_{abs(hash(str(source)))}"
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(source.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(source.parent))
    cls = getattr(module, CLASS_NAME, None)
    if not isinstance(cls, type):
        raise ModelLoadError(f"{source} defines no class {CLASS_NAME}")
    return cls()


def _declared(instance: Any) -> Signature:
    inputs = getattr(instance, "inputs", None)
    outputs = getattr(instance, "outputs", None)
    try:
        return Signature(
            inputs=tuple(_spec(item) for item in inputs)
            if inputs
            else (TensorSpec("input-0", "FP64", None, exact=False),),
            outputs=tuple(_spec(item) for item in outputs)
            if outputs
            else (TensorSpec("output-0", "FP64", None),),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"class {CLASS_NAME}'s inputs/outputs are not a list of "
            f'{{"name", "datatype", "shape"}}: {exc}'
        ) from None


def _spec(item: Mapping[str, Any]) -> TensorSpec:
    shape = item.get("shape")
    return TensorSpec(
        name=str(item["name"]),
        datatype=str(item["datatype"]).upper(),
        shape=None if shape is None else tuple(int(d) for d in shape),
        exact=bool(item.get("exact", True)),
    )
