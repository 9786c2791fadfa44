"""Artifact store fixtures: a real S3 server (``weed``, or ``HEADRACE_TEST_S3_ENDPOINT``) once
per session, and a ``store`` fixture that runs each behaviour test on both backends."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from minio import Minio
from minio.deleteobjects import DeleteObject

from headrace_artifacts import ArtifactStore, FileStore, S3Store
from headrace_testing.s3 import S3Server, run_s3_server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with run_s3_server(tmp_path_factory.mktemp("s3-server")) as server:
        yield server


@pytest.fixture(scope="session")
def s3_client(s3_server: S3Server) -> Minio:
    return Minio(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        secure=s3_server.secure,
        region=s3_server.region,
    )


def _empty_bucket(client: Minio, bucket: str, prefix: str = "") -> None:
    if not client.bucket_exists(bucket):
        return
    names = [
        DeleteObject(item.object_name)
        for item in client.list_objects(bucket, prefix=prefix or None, recursive=True)
    ]
    assert not list(client.remove_objects(bucket, names))


@pytest.fixture(scope="session")
def empty_bucket(s3_client: Minio) -> Callable[[str, str], None]:
    """``empty_bucket(bucket, prefix)`` removes every object below ``prefix``."""
    return functools.partial(_empty_bucket, s3_client)


@pytest.fixture
def s3_store(s3_server: S3Server, s3_client: Minio) -> Iterator[S3Store]:
    """An S3 store in the session bucket, below a prefix of its own (removed afterwards)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield S3Store(s3_client, s3_server.bucket, prefix, endpoint=s3_server.endpoint)
    _empty_bucket(s3_client, s3_server.bucket, f"{prefix}/")


@pytest.fixture
def file_store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "artifact-root")


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    """Each backend in turn; the S3 server starts only when an ``s3`` case runs."""
    fixture = {"file": "file_store", "s3": "s3_store"}[request.param]
    found: ArtifactStore = request.getfixturevalue(fixture)
    return found
