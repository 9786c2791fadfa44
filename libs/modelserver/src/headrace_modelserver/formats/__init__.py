"""Model formats: each loads a model file or folder into a `LoadedModel`.

Each format's library is an optional extra of ``headrace-modelserver``; the format is picked
by ``--format`` or from the file's suffix (see `detect_format`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from ..errors import ModelLoadError
from ..signature import SIGNATURE_FILE
from .base import LoadedModel

__all__ = ["FORMATS", "LoadedModel", "detect_format", "load_model"]

FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (module, file suffixes that mean this format)
    "sklearn": ("sklearn", (".joblib", ".pkl", ".pickle")),
    "xgboost": ("xgboost", (".ubj", ".bst", ".xgb", ".json")),
    "lightgbm": ("lightgbm", (".lgb", ".txt")),
    "onnx": ("onnx", (".onnx",)),
    "pytorch": ("torchscript", (".pt", ".pth", ".torchscript")),
    "custom": ("custom", (".py",)),
}


def detect_format(path: Path) -> str:
    """The format a model file or folder is in, from suffixes (a folder with ``model.py`` is a
    custom Python model)."""
    if path.is_dir():
        if (path / "model.py").is_file():
            return "custom"
        files = [p for p in path.iterdir() if p.is_file() and p.name != SIGNATURE_FILE]
    else:
        files = [path]
    for name, (_, suffixes) in FORMATS.items():
        if any(f.suffix in suffixes for f in files):
            return name
    raise ModelLoadError(
        f"cannot tell the format of {path} from its files {[f.name for f in files]}: give "
        f"--format ({', '.join(FORMATS)})"
    )


def load_model(path: Path, format_name: str | None = None) -> LoadedModel:
    name = format_name or detect_format(path)
    if name not in FORMATS:
        raise ModelLoadError(f"unknown model format {name!r}: use one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"{__name__}.{FORMATS[name][0]}")
    loader: Callable[[Path], LoadedModel] = module.load
    return loader(path)
