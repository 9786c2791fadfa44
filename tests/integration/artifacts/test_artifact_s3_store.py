"""S3 store behaviour that only an object store has, against a real S3 server (weed)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import urllib3
from minio import Minio

from headrace_artifacts import (
    ArtifactNotFound,
    ArtifactStoreError,
    ArtifactStoreUnavailable,
    FileStore,
    InvalidArtifactKey,
    S3Store,
    open_store,
)
from headrace_testing.s3 import S3Server

pytestmark = pytest.mark.s3
MIB = 1024 * 1024


@pytest.fixture
def fresh_bucket(s3_client: Minio, empty_bucket: Callable[[str, str], None]) -> Iterator[str]:
    """A bucket name nobody has created yet (removed afterwards)."""
    bucket = f"headrace-{uuid.uuid4().hex[:16]}"
    yield bucket
    if s3_client.bucket_exists(bucket):
        empty_bucket(bucket, "")
        s3_client.remove_bucket(bucket)


def test_bucket_is_created_on_first_write(
    s3_client: Minio, s3_server: S3Server, fresh_bucket: str, tmp_path: Path
) -> None:
    store = S3Store(s3_client, fresh_bucket, endpoint=s3_server.endpoint)
    assert not store.exists("a.txt")  # reading a missing bucket is not an error
    with pytest.raises(ArtifactNotFound, match="does not exist"):
        store.stat("a.txt")
    assert store.delete("a.txt") is False

    (tmp_path / "a.txt").write_bytes(b"a")
    info = store.put_file(tmp_path / "a.txt", "a.txt")
    assert s3_client.bucket_exists(fresh_bucket)
    assert info.uri == f"s3://{fresh_bucket}/a.txt"
    assert store.stat("a.txt") == info


def test_concurrent_writers_both_create_the_bucket(
    s3_client: Minio, s3_server: S3Server, fresh_bucket: str, tmp_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"f")
    stores = [S3Store(s3_client, fresh_bucket, endpoint=s3_server.endpoint) for _ in range(4)]
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            stores[index].put_file(tmp_path / "f", f"writer-{index}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(stores[0].exists(f"writer-{index}") for index in range(len(stores)))


def test_large_file_is_uploaded_in_parts_and_streamed_back(
    s3_client: Minio,
    s3_server: S3Server,
    empty_bucket: Callable[[str, str], None],
    tmp_path: Path,
) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    store = S3Store(
        s3_client, s3_server.bucket, prefix, endpoint=s3_server.endpoint, part_size=5 * MIB
    )
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(20):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            out.write(chunk)

    try:
        info = store.put_file(source, "models/big.bin")
        found = s3_client.stat_object(s3_server.bucket, f"{prefix}/models/big.bin")
        assert found.etag is not None
        assert found.etag.endswith("-4")
        assert found.metadata is not None
        assert found.metadata["x-amz-meta-sha256"] == digest.hexdigest()
        assert info.sha256 == store.stat("models/big.bin").sha256 == digest.hexdigest()
        assert info.size == 20 * MIB

        tracemalloc.start()
        try:
            fetched = store.get_file("models/big.bin", tmp_path / "back.bin")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert fetched.sha256 == digest.hexdigest()
        assert peak < 8 * MIB, f"download held {peak} bytes in memory"
        assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest() == info.sha256
    finally:
        empty_bucket(s3_server.bucket, f"{prefix}/")


def test_sha256_is_kept_in_object_metadata(
    s3_store: S3Store, s3_client: Minio, tmp_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"payload")
    info = s3_store.put_file(tmp_path / "f", "meta/f")
    bucket, _, name = info.uri.removeprefix("s3://").partition("/")
    found = s3_client.stat_object(bucket, name)
    assert found.metadata is not None
    assert found.metadata["x-amz-meta-sha256"] == hashlib.sha256(b"payload").hexdigest()


def test_objects_written_by_other_tools_are_digested_by_streaming(
    s3_store: S3Store, s3_client: Minio
) -> None:
    data = os.urandom(1500)
    for name in ("foreign/file.bin", "foreign/dir/a.bin"):
        s3_client.put_object(
            s3_store.bucket, s3_store.uri_for(name).split("/", 3)[3], io.BytesIO(data), len(data)
        )
    assert s3_store.stat("foreign/file.bin").sha256 == hashlib.sha256(data).hexdigest()
    directory = s3_store.stat("foreign/dir")
    assert directory.is_dir
    assert directory.file_count == 1


def test_uri_of_another_bucket_or_prefix_is_rejected(s3_store: S3Store) -> None:
    other = f"s3://not-{s3_store.bucket}/x.txt"
    with pytest.raises(InvalidArtifactKey, match="not in this store's bucket"):
        s3_store.key_for(other)
    outside = f"s3://{s3_store.bucket}/another-prefix/x.txt"
    with pytest.raises(InvalidArtifactKey, match="outside this store's prefix"):
        s3_store.key_for(outside)
    assert s3_store.key_for(s3_store.uri_for("x.txt")) == "x.txt"


def test_same_directory_digest_as_the_file_store(s3_store: S3Store, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"a")
    (tree / "sub" / "b.txt").write_bytes(b"b")
    on_s3 = s3_store.put_dir(tree, "model")
    on_disk = FileStore(tmp_path / "root").put_dir(tree, "model")
    assert on_s3.sha256 == on_disk.sha256
    assert on_s3.size == on_disk.size == 2


def test_open_store_builds_an_s3_store_from_settings(
    s3_server: S3Server, s3_client: Minio, fresh_bucket: str, tmp_path: Path
) -> None:
    store = open_store(
        f"s3://{fresh_bucket}/team-a",
        s3_endpoint=s3_server.url,
        s3_access_key=s3_server.access_key,
        s3_secret_key=s3_server.secret_key,
        s3_secure=True,  # the http:// scheme of the endpoint wins
        s3_region=s3_server.region,
    )
    assert isinstance(store, S3Store)
    assert store.root_uri == f"s3://{fresh_bucket}/team-a"
    (tmp_path / "f").write_bytes(b"f")
    assert store.put_file(tmp_path / "f", "x").uri == f"s3://{fresh_bucket}/team-a/x"
    assert s3_client.stat_object(fresh_bucket, "team-a/x").size == 1


def test_wrong_credentials_are_not_retryable(s3_server: S3Server, tmp_path: Path) -> None:
    store = open_store(
        f"s3://{s3_server.bucket}",
        s3_endpoint=s3_server.url,
        s3_access_key=s3_server.access_key,
        s3_secret_key="not-the-secret",
    )
    (tmp_path / "f").write_bytes(b"f")
    with pytest.raises(ArtifactStoreError, match="check the S3 access key") as caught:
        store.put_file(tmp_path / "f", "x")
    assert caught.value.retryable is False


def test_unreachable_server_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{sock.getsockname()[1]}"
    client = Minio(
        endpoint,
        "key",
        "secret",
        secure=False,
        http_client=urllib3.PoolManager(retries=urllib3.Retry(total=0)),
    )
    store = S3Store(client, "headrace-test", endpoint=endpoint)
    (tmp_path / "f").write_bytes(b"f")
    with pytest.raises(ArtifactStoreUnavailable, match=endpoint) as caught:
        store.put_file(tmp_path / "f", "x")
    assert caught.value.retryable is True
    with pytest.raises(ArtifactStoreUnavailable):
        store.stat("x")
