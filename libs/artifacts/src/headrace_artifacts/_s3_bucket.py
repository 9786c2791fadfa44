"""Object operations on one S3 bucket: streamed, digested, with errors translated.

Works on full object names; `S3Store` maps keys to names and files/directories to objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from urllib3 import BaseHTTPResponse

from ._atomic import atomic_write
from ._s3_errors import translate_s3_errors
from ._s3_stream import HashingReader, ResponseReader
from .digest import Digest, copy_and_hash, hash_file
from .errors import ArtifactNotFound, ArtifactStoreError

__all__ = ["Bucket"]

MIB = 1024 * 1024
_MAX_PARTS = 10_000
_SHA256_META = "sha256"  # sent and returned as the x-amz-meta-sha256 header
_OBJECT_MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NotFound"})
_HEX_DIGITS = frozenset("0123456789abcdef")
_VISIBLE_WITHIN = 10.0  # seconds a created bucket may take to be seen


class Bucket:
    """One bucket of an S3 endpoint, created on the first `ensure`."""

    def __init__(self, client: Minio, name: str, *, endpoint: str, region: str | None) -> None:
        self.name = name
        self.endpoint = endpoint
        self._client = client
        self._region = region
        self._ready = False
        self._lock = threading.Lock()

    def uri(self, name: str) -> str:
        return f"s3://{self.name}/{name}"

    def ensure(self) -> None:
        """Create the bucket unless it exists; a concurrent creator winning is fine."""
        if self._ready:
            return
        with self._lock, translate_s3_errors(f"s3://{self.name}", self.endpoint):
            if not self._ready and not self._client.bucket_exists(self.name):
                try:
                    self._client.make_bucket(self.name, location=self._region)
                except S3Error as error:
                    if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
                self._await_visible()
            self._ready = True

    def _await_visible(self) -> None:
        """Wait until the new bucket is seen: some servers (SeaweedFS) answer a concurrent
        creator before the bucket serves writes. Raise its absence after the wait."""
        deadline = time.monotonic() + _VISIBLE_WITHIN
        while not self._client.bucket_exists(self.name):
            if time.monotonic() > deadline:
                raise ArtifactStoreError(
                    f"bucket {self.name!r} was created on {self.endpoint} but is not visible "
                    f"after {_VISIBLE_WITHIN:g} s: retry",
                    retryable=True,
                )
            time.sleep(0.05)

    def stat(self, name: str) -> tuple[int, str | None] | None:
        """Size and recorded SHA-256 of an object; None when there is no such object.

        A missing bucket raises `ArtifactNotFound`.
        """
        with translate_s3_errors(self.uri(name), self.endpoint):
            try:
                found = self._client.stat_object(self.name, name)
            except S3Error as error:
                if error.code in _OBJECT_MISSING:
                    return None
                raise
        return found.size or 0, recorded_sha256(found.metadata)

    def upload(self, source: Path, name: str, *, part_size: int, parallel_parts: int) -> Digest:
        """Stream a local file into an object that records its SHA-256."""
        uri = self.uri(name)
        deadline = time.monotonic() + _VISIBLE_WITHIN
        try:
            expected = hash_file(source)  # the digest travels in the request headers
            while True:
                with source.open("rb") as handle:
                    reader = HashingReader(handle)
                    try:
                        with translate_s3_errors(uri, self.endpoint):
                            self._client.put_object(
                                self.name,
                                name,
                                reader,  # type: ignore[arg-type]  # minio only calls read()
                                length=expected.size,
                                part_size=max(part_size, _min_part_size(expected.size)),
                                num_parallel_uploads=parallel_parts,
                                metadata={_SHA256_META: expected.sha256},
                            )
                        break
                    except ArtifactNotFound:
                        # A bucket just created (here or by a concurrent writer) that the
                        # server does not serve writes to yet (SeaweedFS): try again shortly.
                        if time.monotonic() > deadline or not self._client.bucket_exists(self.name):
                            raise
                time.sleep(0.1)
        except OSError as error:
            raise ArtifactStoreError(
                f"reading {source} to upload it to {uri} failed: {error}"
            ) from error
        if reader.digest() != expected:
            self.remove(name)
            raise ArtifactStoreError(
                f"{source} changed while it was uploaded to {uri}: upload it once it is complete"
            )
        return expected

    def open(self, name: str) -> ResponseReader:
        """A raw streaming reader over an object (`ArtifactNotFound` when missing)."""
        with translate_s3_errors(self.uri(name), self.endpoint):
            response: BaseHTTPResponse = self._client.get_object(self.name, name)
        return ResponseReader(response, self.uri(name), self.endpoint)

    def download(self, name: str, target: Path) -> Digest:
        """Stream an object into ``target`` atomically (parents created), checking its recorded
        SHA-256; `ArtifactNotFound` before anything is created when the object is missing."""
        uri = self.uri(name)
        with self.open(name) as reader:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target) as out:
                digest = copy_and_hash(reader, out)
                recorded = recorded_sha256(reader.headers)
                if recorded is not None and recorded != digest.sha256:
                    raise ArtifactStoreError(
                        f"{uri} arrived with sha256 {digest.sha256}, but {recorded} was recorded "
                        "when it was stored: it was overwritten meanwhile or is corrupt; retry",
                        retryable=True,
                    )
        return digest

    def digest(self, name: str) -> str:
        """SHA-256 of an object, by streaming it (for objects other tools wrote)."""
        with self.open(name) as reader:
            return copy_and_hash(reader, None).sha256

    def list_below(self, prefix: str, *, first_only: bool = False) -> list[str]:
        """Names of the objects below ``prefix`` (folder marker objects skipped)."""
        names: list[str] = []
        with translate_s3_errors(self.uri(prefix), self.endpoint):
            for item in self._client.list_objects(self.name, prefix=prefix, recursive=True):
                name: str | None = item.object_name
                if name and not name.endswith("/"):
                    names.append(name)
                    if first_only:
                        break
        return names

    def remove_below(self, prefix: str, *, keep: frozenset[str] = frozenset()) -> int:
        """Delete the objects below ``prefix`` except ``keep``; return how many."""
        doomed = [name for name in self.list_below(prefix) if name not in keep]
        if doomed:
            with translate_s3_errors(self.uri(prefix), self.endpoint):
                failures = list(
                    self._client.remove_objects(self.name, [DeleteObject(n) for n in doomed])
                )
            if failures:
                raise ArtifactStoreError(
                    f"could not delete {len(failures)} objects below {self.uri(prefix)}, e.g. "
                    f"{failures[0].name} ({failures[0].code}: {failures[0].message}); retry",
                    retryable=True,
                )
        return len(doomed)

    def remove(self, name: str) -> None:
        """Delete one object (nothing happens when it does not exist)."""
        with translate_s3_errors(self.uri(name), self.endpoint):
            self._client.remove_object(self.name, name)


def recorded_sha256(headers: Mapping[str, Any] | None) -> str | None:
    """The ``x-amz-meta-sha256`` value of object headers, when it is a SHA-256 hex digest."""
    wanted = f"x-amz-meta-{_SHA256_META}"
    for name, value in (headers or {}).items():
        text = str(value).lower()
        if name.lower() == wanted and len(text) == 64 and set(text) <= _HEX_DIGITS:
            return text
    return None


def _min_part_size(size: int) -> int:
    """The smallest whole-MiB part size that keeps ``size`` within S3's 10,000 parts."""
    needed = -(-size // _MAX_PARTS)
    return -(-needed // MIB) * MIB
