"""Worker processes sharing one port, adaptive batching, and the digest-keyed download cache."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelserver_support import batch_size_model, model_server

from headrace_artifacts import open_store
from headrace_testing.s3 import S3Server, run_s3_server

ROW = {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [0.9, 0.9, 0.1, 0.1]}


async def _infer_many(url: str, path: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url) as http:
        return await asyncio.gather(
            *(http.post(path, json={"inputs": [ROW]}) for _ in range(count))
        )


def test_workers_share_one_port(sklearn_path: Path) -> None:
    args = ("--model-name", "lr", "--storage-uri", str(sklearn_path))
    with model_server(*args, workers=2) as server:
        answers = asyncio.run(_infer_many(server.url, "/v2/models/lr/infer", 16))
        pids = set(re.findall(r"Started server process \[(\d+)\]", server.log))
    assert len(pids) == 2
    assert {a.status_code for a in answers} == {200}
    assert {tuple(a.json()["outputs"][0]["data"]) for a in answers} == {(1,)}


def test_concurrent_requests_merge_into_one_model_call(tmp_path: Path) -> None:
    folder = batch_size_model(tmp_path / "counter")
    # A batch goes to the model when 8 rows are pending; the latency bound is far away, so
    # the 8 concurrent single-row requests are answered by one call, whatever the timing.
    args = ("--max-batch-size", "8", "--max-latency", "60000")
    with model_server("--model-name", "c", "--storage-uri", str(folder), *args) as server:
        answers = asyncio.run(_infer_many(server.url, "/v2/models/c/infer", 8))
    assert [a.json()["outputs"][0]["data"] for a in answers] == [[8]] * 8


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with run_s3_server(tmp_path_factory.mktemp("s3-server")) as server:
        yield server


@pytest.mark.s3
def test_s3_model_is_downloaded_once_into_the_cache(
    s3_server: S3Server, sklearn_path: Path, tmp_path: Path
) -> None:
    env = {
        "HEADRACE_S3_ENDPOINT": s3_server.url,
        "HEADRACE_S3_ACCESS_KEY": s3_server.access_key,
        "HEADRACE_S3_SECRET_KEY": s3_server.secret_key,
    }
    store = open_store(
        "s3://models",
        s3_endpoint=s3_server.url,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
    )
    key = f"{uuid.uuid4().hex}/model.joblib"
    info = store.put_file(sklearn_path, key)
    args = (
        "--model-name",
        "lr",
        "--storage-uri",
        f"s3://models/{key}",
        "--cache-dir",
        str(tmp_path),
    )
    for start in ("first", "restart"):
        with model_server(*args, env=env) as server, httpx.Client(base_url=server.url) as http:
            assert http.get("/v2/models/lr/ready").status_code == 200, start
            downloaded = "downloaded" in server.log
        assert downloaded == (start == "first"), server.log
    assert (tmp_path / info.sha256 / "model.joblib").is_file()
