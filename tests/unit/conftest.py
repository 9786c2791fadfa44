"""Compile real kfp pipelines into PipelineSpec dicts for the pure-logic tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler


@pytest.fixture
def compile_spec(tmp_path: Path) -> Callable[[Any], dict[str, Any]]:
    def compile_(pipeline: Any) -> dict[str, Any]:
        target = tmp_path / f"{pipeline.name}.yaml"
        compiler.Compiler().compile(pipeline, str(target))
        return yaml.safe_load(target.read_text())  # type: ignore[no-any-return]

    return compile_
