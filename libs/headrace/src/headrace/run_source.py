"""Turning what a user hands the client into a PipelineSpec: a ``@dsl.pipeline`` function, a
``.py`` file that defines one, a compiled YAML/JSON file, YAML text or a dict.

kfp is imported only when a pipeline has to be compiled (it is slow to import and not
needed for compiled specs).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from headrace_pipelines import SpecError, load_pipeline

from .run_errors import PipelineLoadError

Spec = tuple[dict[str, Any], dict[str, Any] | None]
_COMPILED = (".yaml", ".yml", ".json")


def load_source(pipeline: Any, *, pipeline_name: str | None = None) -> Spec:
    """``(pipeline_spec, platform_spec)`` of ``pipeline``; :class:`PipelineLoadError` if none."""
    if isinstance(pipeline, dict):
        return _loaded(pipeline)
    if isinstance(pipeline, Path) or (
        isinstance(pipeline, str) and "\n" not in pipeline and _looks_like_path(pipeline)
    ):
        return load_file(Path(pipeline), pipeline_name=pipeline_name)
    if isinstance(pipeline, str | bytes):
        return _loaded(pipeline)
    if _is_pipeline(pipeline):
        return compile_pipeline(pipeline)
    raise PipelineLoadError(
        f"cannot submit a {type(pipeline).__name__}: pass a @dsl.pipeline function, a path to "
        "a compiled YAML/JSON or a .py file, YAML text, or a PipelineSpec dict"
    )


def load_file(path: Path, *, pipeline_name: str | None = None) -> Spec:
    """A compiled ``.yaml``/``.yml``/``.json`` file, or a ``.py`` file defining a pipeline."""
    if not path.is_file():
        raise PipelineLoadError(
            f"no pipeline file at {path}: pass a compiled .yaml/.json or a .py with a @dsl.pipeline"
        )
    if path.suffix == ".py":
        return compile_pipeline(pick_pipeline(import_file(path), path, pipeline_name))
    if path.suffix.lower() not in _COMPILED:
        raise PipelineLoadError(
            f"{path} is neither a compiled pipeline (.yaml, .yml, .json) nor a .py file"
        )
    return _loaded(path)


def import_file(path: Path) -> dict[str, Any]:
    """Run a ``.py`` file as a fresh module (its folder importable) and return its names."""
    name = f"_headrace_pipeline_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PipelineLoadError(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PipelineLoadError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.modules.pop(name, None)
        if folder in sys.path:
            sys.path.remove(folder)
    return dict(vars(module))


def pick_pipeline(names: dict[str, Any], path: Path, wanted: str | None) -> Any:
    """The one pipeline ``names`` define (or the one called ``wanted``, by Python name or
    pipeline name)."""
    found = {attr: value for attr, value in names.items() if _is_pipeline(value)}
    described = ", ".join(f"{attr} ({_pipeline_name(v)})" for attr, v in sorted(found.items()))
    if wanted:
        for attr, value in found.items():
            if wanted in (attr, _pipeline_name(value)):
                return value
        raise PipelineLoadError(
            f"{path} defines no pipeline {wanted!r} (its pipelines: {described or 'none'})"
        )
    if not found:
        raise PipelineLoadError(
            f"{path} defines no @dsl.pipeline: decorate the pipeline function with "
            "@dsl.pipeline, or pass the compiled YAML"
        )
    if len(found) > 1:
        raise PipelineLoadError(
            f"{path} defines {len(found)} pipelines ({described}): choose one with "
            "--pipeline NAME (pipeline_name= in Python)"
        )
    return next(iter(found.values()))


def compile_pipeline(pipeline: Any) -> Spec:
    """Compile a ``@dsl.pipeline`` with kfp, in this process, and read the result."""
    try:
        from kfp import compiler  # slow to import: only when there is something to compile
    except ImportError:
        raise PipelineLoadError(
            "compiling a @dsl.pipeline needs the kfp package: install kfp 2.x, or pass the "
            "compiled YAML"
        ) from None

    with tempfile.TemporaryDirectory(prefix="headrace-compile-") as folder:
        target = Path(folder) / "pipeline.yaml"
        try:
            compiler.Compiler().compile(pipeline, str(target))
        except Exception as exc:
            raise PipelineLoadError(
                f"kfp could not compile pipeline {_pipeline_name(pipeline)!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return _loaded(target)


def _loaded(source: Any) -> Spec:
    try:
        return load_pipeline(source)
    except SpecError as exc:
        raise PipelineLoadError(str(exc)) from None


def _looks_like_path(text: str) -> bool:
    if text.lower().endswith((*_COMPILED, ".py")):
        return True
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # too long, or a NUL: text, not a path
        return False


def _is_pipeline(value: Any) -> bool:
    """A ``@dsl.pipeline`` (a kfp ``GraphComponent``), told without importing kfp."""
    return type(value).__name__ == "GraphComponent" and hasattr(value, "pipeline_func")


def _pipeline_name(pipeline: Any) -> str:
    return str(getattr(pipeline, "name", "") or type(pipeline).__name__)
