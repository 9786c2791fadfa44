"""scikit-learn estimators (and any object with ``predict``) saved with joblib or pickle."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..signature import Signature, TensorSpec
from .base import LoadedModel, import_library, load_failure, signature_or, single_file

SUFFIXES = (".joblib", ".pkl", ".pickle")


class SklearnModel(LoadedModel):
    platform = "sklearn"

    def __init__(self, estimator: Any, signature: Signature) -> None:
        super().__init__(signature)
        self._predict = estimator.predict
        self._input = signature.inputs[0].name
        self._output = signature.outputs[0].name if signature.outputs else "output-0"

    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {self._output: np.asarray(self._predict(inputs[self._input]))}


def load(path: Path) -> SklearnModel:
    joblib = import_library("scikit-learn", "joblib", "sklearn")
    import_library("scikit-learn", "sklearn", "sklearn")
    model_file = single_file(path, SUFFIXES, "scikit-learn")
    try:
        estimator = joblib.load(model_file)
    except Exception as exc:
        raise load_failure(model_file, "scikit-learn", exc) from None
    if not callable(getattr(estimator, "predict", None)):
        raise load_failure(model_file, "scikit-learn", TypeError("the object has no predict()"))
    return SklearnModel(estimator, signature_or(model_file, _signature(estimator)))


def _signature(estimator: Any) -> Signature:
    features = getattr(estimator, "n_features_in_", None)
    shape = (-1, int(features)) if features is not None else (-1, -1)
    classes = getattr(estimator, "classes_", None)
    out = "FP64"
    if classes is not None:
        kind = np.asarray(classes).dtype
        out = "BYTES" if kind.kind in "OSU" else "INT64" if kind.kind in "iu" else "FP64"
    return Signature(
        inputs=(TensorSpec("input-0", "FP64", shape, exact=False),),
        outputs=(TensorSpec("output-0", out, (-1,)),),
    )
