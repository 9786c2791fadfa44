"""Fixtures: the pipeline platform of ``tests/integration/pipelines`` (scheduler + trainer +
metadata on a real nats-server), reused as is."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PIPELINES = Path(__file__).parent.parent / "pipelines"
if str(_PIPELINES) not in sys.path:
    sys.path.insert(0, str(_PIPELINES))

_spec = importlib.util.spec_from_file_location("pipelines_conftest", _PIPELINES / "conftest.py")
assert _spec is not None
assert _spec.loader is not None
_pipelines = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pipelines)

settings = _pipelines.settings
settings_on_each_database = _pipelines.settings_on_each_database
start_platform = _pipelines.start_platform
platform = _pipelines.platform
