"""Headrace model server: one model over the Open Inference Protocol v2 and KServe v1 REST.

::

    from headrace_modelserver import ServerSettings, create_app
    app = create_app(ServerSettings(model_name="iris", storage_uri="file:///models/iris.joblib"))

or from a shell: ``headrace-model-server --model-name iris --storage-uri ...``. Formats:
scikit-learn, XGBoost, LightGBM, ONNX, TorchScript and custom Python classes, each library an
optional extra.
"""

from .app import create_app
from .errors import (
    InvalidRequest,
    MissingFormatLibrary,
    ModelLoadError,
    ModelNotReady,
    ModelServerError,
    PayloadTooLarge,
    PredictionFailed,
    UnknownModel,
)
from .formats import FORMATS, LoadedModel, detect_format, load_model
from .settings import ServerSettings
from .signature import Signature, TensorSpec

__all__ = [
    "FORMATS",
    "InvalidRequest",
    "LoadedModel",
    "MissingFormatLibrary",
    "ModelLoadError",
    "ModelNotReady",
    "ModelServerError",
    "PayloadTooLarge",
    "PredictionFailed",
    "ServerSettings",
    "Signature",
    "TensorSpec",
    "UnknownModel",
    "create_app",
    "detect_format",
    "load_model",
]
