"""The custom model of docs/modelserver.md, served as written (the ASGI app in process)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from headrace_modelserver import ServerSettings, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DOC = Path(__file__).parents[3] / "docs" / "modelserver.md"


def test_the_documented_custom_model_serves(tmp_path: Path) -> None:
    block = re.search(r"```python\n(class Model:.*?)```", DOC.read_text(), re.S)
    assert block is not None
    folder = tmp_path / "lengths"
    folder.mkdir()
    (folder / "model.py").write_text(block.group(1))
    app = create_app(ServerSettings(model_name="lengths", storage_uri=str(folder)))
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["ab", ""]}]}
    with TestClient(app) as client:
        assert app.state.host.loaded.wait(timeout=60)
        answer = client.post("/v2/models/lengths/infer", json=body)
        metadata = client.get("/v2/models/lengths").json()
    assert answer.json()["outputs"] == [
        {"name": "length", "datatype": "INT64", "shape": [2], "data": [2, 0]}
    ]
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
