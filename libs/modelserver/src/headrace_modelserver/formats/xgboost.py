"""XGBoost boosters saved with ``save_model`` (``.json``, ``.ubj``, ``.bst``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..signature import Signature, TensorSpec
from .base import LoadedModel, import_library, load_failure, signature_or, single_file

SUFFIXES = (".ubj", ".bst", ".json", ".xgb")


class XGBoostModel(LoadedModel):
    platform = "xgboost"
    releases_gil = True

    def __init__(self, booster: Any, signature: Signature) -> None:
        super().__init__(signature)
        self._booster = booster
        self._input = signature.inputs[0].name
        self._output = signature.outputs[0].name if signature.outputs else "output-0"

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {self._output: np.asarray(self._booster.inplace_predict(inputs[self._input]))}


def load(path: Path) -> XGBoostModel:
    xgboost = import_library("XGBoost", "xgboost", "xgboost")
    model_file = single_file(path, SUFFIXES, "XGBoost")
    try:
        booster = xgboost.Booster(model_file=str(model_file))
        features = booster.num_features()
    except Exception as exc:
        raise load_failure(model_file, "XGBoost", exc) from None
    fallback = Signature(
        inputs=(TensorSpec("input-0", "FP32", (-1, features), exact=False),),
        outputs=(TensorSpec("output-0", "FP32", None),),
    )
    return XGBoostModel(booster, signature_or(model_file, fallback))
