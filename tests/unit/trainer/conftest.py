"""Components compiled with the real kfp SDK, as the scheduler would hand them over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler

Compiled = tuple[dict[str, Any], dict[str, Any]]


def compile_component(component: Any, folder: Path) -> Compiled:
    """``(container spec, component spec)`` of a single compiled component."""
    path = folder / "component.yaml"
    compiler.Compiler().compile(component, str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    (definition,) = spec["components"].values()
    return executor["container"], definition


@pytest.fixture
def compiled(tmp_path: Path) -> Callable[[Any], Compiled]:
    return lambda component: compile_component(component, tmp_path)
