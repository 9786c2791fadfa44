"""What goes wrong in the model server, and the HTTP status each failure answers with.

::

    ModelServerError              status 500, the root
    ├── InvalidRequest            400: malformed body, wrong shape or datatype, missing input
    ├── UnknownModel              404: no model by that name or version
    ├── PayloadTooLarge           413: body over the configured limit
    ├── ModelNotReady             503: loading, or its load failed (the reason is kept)
    ├── PredictionFailed          500: the model's own exception, with its message
    └── ModelLoadError            a model that cannot load (storage, format, corrupt file)
        └── MissingFormatLibrary  its format's library is not installed: names the extra

Every error a client sees is ``{"error": "<message>"}`` with the status; never a traceback.
"""

from __future__ import annotations

__all__ = [
    "InvalidRequest",
    "MissingFormatLibrary",
    "ModelLoadError",
    "ModelNotReady",
    "ModelServerError",
    "PayloadTooLarge",
    "PredictionFailed",
    "UnknownModel",
]


class ModelServerError(Exception):
    """Root of the model server's errors; ``status`` is the HTTP status it answers with."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ModelServerError):
    status = 400


class UnknownModel(ModelServerError):
    status = 404


class PayloadTooLarge(ModelServerError):
    status = 413


class ModelNotReady(ModelServerError):
    status = 503


class PredictionFailed(ModelServerError):
    status = 500


class ModelLoadError(ModelServerError):
    """The model could not be loaded; the server keeps running and reports it not ready."""


class MissingFormatLibrary(ModelLoadError):
    """``needed_by`` ("the ONNX format", "a models:/ URI") needs ``module`` from ``extra``."""

    def __init__(self, needed_by: str, module: str, extra: str) -> None:
        super().__init__(
            f"{needed_by} needs the Python package {module!r}, which is not installed: "
            f"install it with `pip install 'headrace-modelserver[{extra}]'`"
        )
        self.module = module
        self.extra = extra
