"""Model files of each format, built once per session, and servers started per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelserver_support import sklearn_model


@pytest.fixture(scope="session")
def sklearn_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sklearn_model(tmp_path_factory.mktemp("sklearn"))
