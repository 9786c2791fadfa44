"""What every model format provides once loaded: a signature and a predict call."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import MissingFormatLibrary, ModelLoadError
from ..signature import Signature, read_signature

__all__ = ["LoadedModel", "import_library", "single_file"]


class LoadedModel(ABC):
    """A model in memory. ``predict`` takes arrays by input name (already checked against
    ``signature``) and returns arrays by output name, one row per input row."""

    platform: str = ""
    releases_gil: bool = False
    """True when predict spends its time outside the GIL: it then runs in a thread."""

    def __init__(self, signature: Signature) -> None:
        self.signature = signature

    @abstractmethod
    def predict(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...


def import_library(format_name: str, module: str, extra: str) -> ModuleType:
    """The format's library, or `MissingFormatLibrary` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingFormatLibrary(f"the {format_name} format", module, extra) from None


def single_file(path: Path, suffixes: tuple[str, ...], format_name: str) -> Path:
    """The model file: ``path`` itself, or the one file with a known suffix in the folder."""
    if path.is_file():
        return path
    found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in suffixes)
    if len(found) != 1:
        raise ModelLoadError(
            f"{path} should hold exactly one {format_name} model file ({', '.join(suffixes)}); "
            f"found {[p.name for p in found] or 'none'}"
        )
    return found[0]


def signature_or(path: Path, fallback: Signature) -> Signature:
    """The signature file beside the model if there is one, else what the format knows."""
    return read_signature(path) or fallback


def load_failure(path: Path, format_name: str, exc: BaseException) -> ModelLoadError:
    """The reason a model file did not load, as readiness and the log give it."""
    return ModelLoadError(f"cannot load {path} as a {format_name} model: {exc}")
