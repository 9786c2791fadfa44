"""Step logs on S3 are read through the HEADRACE_S3_* settings, as the services write them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.run_errors import ClientError
from headrace.run_logs import read_log
from headrace_artifacts import open_store
from headrace_testing.s3 import S3Server, run_s3_server

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with run_s3_server(tmp_path_factory.mktemp("s3-server")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    monkeypatch.setenv("HEADRACE_S3_ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("HEADRACE_S3_ACCESS_KEY", s3_server.access_key)
    monkeypatch.setenv("HEADRACE_S3_SECRET_KEY", s3_server.secret_key)
    monkeypatch.setenv("HEADRACE_S3_SECURE", "true" if s3_server.secure else "false")
    if s3_server.region:
        monkeypatch.setenv("HEADRACE_S3_REGION", s3_server.region)
    return s3_server


def test_a_log_on_s3_is_read(s3_env: S3Server, tmp_path: Path) -> None:
    store = open_store(
        f"s3://{s3_env.bucket}/platform",
        s3_endpoint=s3_env.endpoint,
        s3_access_key=s3_env.access_key,
        s3_secret_key=s3_env.secret_key,
        s3_secure=s3_env.secure,
        s3_region=s3_env.region,
    )
    local = tmp_path / "log.txt"
    local.write_text("step says hello\n")
    uri = store.put_file(local, "runs/r1/add/attempt-1/log.txt").uri
    assert uri.startswith(f"s3://{s3_env.bucket}/")
    assert read_log(uri, what="step 'add'") == "step says hello\n"


def test_a_missing_log_names_the_step_and_uri(s3_env: S3Server) -> None:
    uri = f"s3://{s3_env.bucket}/runs/r1/gone/log.txt"
    with pytest.raises(ClientError, match=r"cannot read the log of step 'gone' at s3://"):
        read_log(uri, what="step 'gone'")
