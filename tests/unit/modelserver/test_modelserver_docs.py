"""The custom model of docs/modelserver.md, served as written (the ASGI app in process)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from starlette.applications import Starlette

from headrace_modelserver import ServerSettings, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DOC = Path(__file__).parents[3] / "docs" / "modelserver.md"


def documented_model(tmp_path: Path) -> Starlette:
    block = re.search(r"```python\n(class Model:.*?)```", DOC.read_text(), re.S)
    assert block is not None
    folder = tmp_path / "lengths"
    folder.mkdir()
    (folder / "model.py").write_text(block.group(1))
    return create_app(ServerSettings(model_name="lengths", storage_uri=str(folder)))


def test_the_documented_custom_model_serves(tmp_path: Path) -> None:
    app = documented_model(tmp_path)
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["ab", ""]}]}
    with TestClient(app) as client:
        assert app.state.host.loaded.wait(timeout=60)
        answer = client.post("/v2/models/lengths/infer", json=body)
        metadata = client.get("/v2/models/lengths").json()
    assert answer.json()["outputs"] == [
        {"name": "length", "datatype": "INT64", "shape": [2], "data": [2, 0]}
    ]
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]


def test_v1_instances_of_a_bytes_input_reach_the_model_as_bytes(tmp_path: Path) -> None:
    app = documented_model(tmp_path)
    with TestClient(app) as client:
        assert app.state.host.loaded.wait(timeout=60)
        answer = client.post("/v1/models/lengths:predict", json={"instances": ["héllo", "x"]})
    assert answer.json() == {"predictions": [6, 1]}  # UTF-8 bytes: é is two
