"""A model's inputs and outputs (names, datatypes, shapes), and checking a request against them.

A format fills the signature from the model where it can (ONNX graphs, scikit-learn's
``n_features_in_``, boosters' feature counts); a ``signature.json`` beside the model file
replaces it::

    {"inputs":  [{"name": "x", "datatype": "FP32", "shape": [-1, 20]}],
     "outputs": [{"name": "y", "datatype": "INT64", "shape": [-1]}]}

``-1`` in a shape matches any size. A spec whose ``exact`` is false (the default of formats
that convert whatever numbers they get, such as scikit-learn) accepts any numeric datatype.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .datatypes import DATATYPES, NUMERIC
from .errors import InvalidRequest, ModelLoadError

__all__ = ["SIGNATURE_FILE", "Signature", "TensorSpec", "check_inputs", "read_signature"]

SIGNATURE_FILE = "signature.json"


@dataclass(frozen=True, slots=True)
class TensorSpec:
    name: str
    datatype: str
    shape: tuple[int, ...] | None = None
    """None: any shape (the format cannot tell)."""
    exact: bool = True
    """False: any numeric datatype is accepted and converted by the model."""

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape or [-1])}


@dataclass(frozen=True, slots=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = field(default=())

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.inputs)


def read_signature(model_path: Path) -> Signature | None:
    """The ``signature.json`` beside (or inside, for a folder) the model, if there is one."""
    folder = model_path if model_path.is_dir() else model_path.parent
    path = folder / SIGNATURE_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
        return Signature(
            inputs=tuple(_spec(item, path) for item in document.get("inputs", [])),
            outputs=tuple(_spec(item, path) for item in document.get("outputs", [])),
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ModelLoadError(
            f"{path} is not a valid signature: {exc}; write "
            '{"inputs": [{"name": ..., "datatype": "FP32", "shape": [-1, 4]}], "outputs": [...]}'
        ) from None


def _spec(item: Mapping[str, Any], path: Path) -> TensorSpec:
    datatype = str(item["datatype"]).upper()
    if datatype not in DATATYPES:
        raise ValueError(
            f"datatype {datatype!r} of {item['name']!r} is not one of {sorted(DATATYPES)}"
        )
    shape = item.get("shape")
    return TensorSpec(
        name=str(item["name"]),
        datatype=datatype,
        shape=None if shape is None else tuple(int(d) for d in shape),
        exact=bool(item.get("exact", True)),
    )


def check_inputs(
    signature: Signature, inputs: Mapping[str, np.ndarray], datatypes: Mapping[str, str]
) -> None:
    """`InvalidRequest` naming the input and what the model expects, for a missing or
    unexpected input, a wrong datatype or a wrong shape."""
    expected = signature.inputs
    missing = [spec.name for spec in expected if spec.name not in inputs]
    if missing:
        raise InvalidRequest(
            f"missing input {_names(missing)}: the model takes {_describe(expected)}"
        )
    if len(inputs) != len(expected):
        extra = [name for name in inputs if name not in signature.input_names]
        raise InvalidRequest(
            f"unexpected input {_names(extra)}: the model takes {_describe(expected)}"
        )
    for spec in expected:
        _check_one(spec, inputs[spec.name], datatypes[spec.name])


def _check_one(spec: TensorSpec, array: np.ndarray, datatype: str) -> None:
    if spec.exact and datatype != spec.datatype:
        raise InvalidRequest(
            f"input {spec.name!r} has datatype {datatype}, the model expects {spec.datatype}"
        )
    if not spec.exact and (datatype in NUMERIC) != (spec.datatype in NUMERIC):
        kind = "a numeric datatype" if spec.datatype in NUMERIC else "BYTES"
        raise InvalidRequest(
            f"input {spec.name!r} has datatype {datatype}, the model expects {kind}"
        )
    if spec.shape is None:
        return
    if len(array.shape) != len(spec.shape) or any(
        want not in (-1, got) for want, got in zip(spec.shape, array.shape, strict=True)
    ):
        raise InvalidRequest(
            f"input {spec.name!r} has shape {list(array.shape)}, the model expects "
            f"{list(spec.shape)} (-1: any size)"
        )


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)


def _describe(specs: Sequence[TensorSpec]) -> str:
    return ", ".join(
        f"{spec.name!r} ({spec.datatype if spec.exact else 'numeric'} "
        f"{list(spec.shape) if spec.shape is not None else 'any shape'})"
        for spec in specs
    )
