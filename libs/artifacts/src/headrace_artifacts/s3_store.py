"""``s3://`` artifact store through the MinIO client (MinIO, SeaweedFS, AWS S3, ...).

A file artifact is one object, ``<prefix>/<key>``; a directory artifact is every object below
``<prefix>/<key>/``. Each object carries its SHA-256 in user metadata (``x-amz-meta-sha256``),
which `stat` reads back (objects written by other tools are digested by streaming them).

Uploads stream from the local file: the file is digested first (the digest must travel with
the object's headers), then sent with ``put_object`` in ``part_size`` parts (multipart above
one part, a few parts in flight), digesting again on the way; a file that changed in between
is removed again and reported. Memory use is bounded by the parts in flight (about 4 parts of
16 MiB for a file; directories upload ``workers`` files at once, one part in flight each).
Downloads stream into a temporary file that is checked against the recorded digest and
renamed into place. The bucket is created on the first write.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, TypeVar

from minio import Minio
from minio.helpers import check_bucket_name

from ._s3_bucket import Bucket
from ._walk import list_files
from .digest import CHUNK_SIZE, Digest, dir_digest
from .errors import ArtifactNotFound, ArtifactStoreError, InvalidArtifactKey
from .info import ArtifactInfo
from .keys import join_key, validate_key
from .store import (
    ArtifactKind,
    ArtifactStore,
    StrPath,
    is_a_directory,
    is_a_file,
    not_a_local_dir,
    not_a_local_file,
)

__all__ = ["DEFAULT_PART_SIZE", "S3Store"]

DEFAULT_PART_SIZE = 16 * 1024 * 1024
_MIN_PART_SIZE = 5 * 1024 * 1024
_T = TypeVar("_T")
_R = TypeVar("_R")


class S3Store(ArtifactStore):
    """Artifacts as objects in ``bucket`` below an optional key ``prefix``."""

    def __init__(
        self,
        client: Minio,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str = "s3",
        region: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        workers: int = 4,
    ) -> None:
        try:
            check_bucket_name(bucket)
        except ValueError as error:
            raise ArtifactStoreError(
                f"invalid S3 bucket name {bucket!r} ({error}): use 3-63 lowercase letters, "
                "digits, '-' and '.'"
            ) from None
        if part_size < _MIN_PART_SIZE:
            raise ArtifactStoreError(f"part_size must be at least 5 MiB, not {part_size}")
        self._bucket = Bucket(client, bucket, endpoint=endpoint, region=region)
        self._prefix = validate_key(prefix.strip("/")) if prefix.strip("/") else ""
        self._part_size = part_size
        self._workers = max(1, workers)

    @property
    def bucket(self) -> str:
        return self._bucket.name

    @property
    def root_uri(self) -> str:
        return f"s3://{self._bucket.name}/{self._prefix}".rstrip("/")

    def uri_for(self, key: str) -> str:
        return self._bucket.uri(self._name(key))

    def key_for(self, uri: str) -> str:
        scheme, _, rest = uri.partition("://")
        bucket, _, name = rest.partition("/")
        if scheme != "s3" or bucket != self._bucket.name:
            raise InvalidArtifactKey(
                uri,
                f"it is not in this store's bucket ({self.root_uri})",
                fix="open a store for that bucket, or pass a key or a URI of this bucket",
            )
        if self._prefix:
            if not name.startswith(f"{self._prefix}/"):
                raise InvalidArtifactKey(
                    uri,
                    f"it lies outside this store's prefix ({self.root_uri})",
                    fix="open a store with that prefix, or pass a URI below this one",
                )
            name = name[len(self._prefix) + 1 :]
        return validate_key(name)

    def put_file(self, local_path: StrPath, key: str, *, sync: bool = True) -> ArtifactInfo:
        name = self._name(key)  # an upload is durable once S3 answers: ``sync`` changes nothing
        source = Path(local_path)
        if not source.is_file():
            raise not_a_local_file(local_path, key)
        self._bucket.ensure()
        digest = self._bucket.upload(source, name, part_size=self._part_size, parallel_parts=3)
        self._bucket.remove_below(f"{name}/")  # a directory stored under this key before
        return ArtifactInfo(self.uri_for(key), key, digest.size, digest.sha256)

    def put_dir(self, local_dir: StrPath, key: str) -> ArtifactInfo:
        name = self._name(key)
        source = Path(local_dir)
        try:
            files = list_files(source) if source.is_dir() else []
        except OSError as error:
            raise ArtifactStoreError(f"listing {source} to upload it failed: {error}") from error
        if not files:
            raise not_a_local_dir(local_dir, key)
        names = [self._name(join_key(key, relative)) for relative, _ in files]
        self._bucket.ensure()
        digests = self._each(
            lambda item: self._bucket.upload(
                item[0], item[1], part_size=self._part_size, parallel_parts=1
            ),
            [(path, object_name) for (_, path), object_name in zip(files, names, strict=True)],
        )
        self._bucket.remove_below(f"{name}/", keep=frozenset(names))  # files it no longer has
        self._bucket.remove(name)  # a file stored under this key before
        return _dir_info(self.uri_for(key), key, [rel for rel, _ in files], digests)

    def get_file(self, key: str, local_path: StrPath) -> ArtifactInfo:
        try:
            digest = self._bucket.download(self._name(key), Path(local_path))
        except ArtifactNotFound:
            raise self._missing_file(key) from None
        return ArtifactInfo(self.uri_for(key), key, digest.size, digest.sha256)

    def get_dir(self, key: str, local_dir: StrPath) -> ArtifactInfo:
        relatives = self._dir_members(key)
        target = Path(local_dir)
        digests = self._each(
            lambda rel: self._bucket.download(self._name(join_key(key, rel)), target / rel),
            relatives,
        )
        return _dir_info(self.uri_for(key), key, relatives, digests)

    def stat(self, key: str) -> ArtifactInfo:
        name = self._name(key)
        found = self._bucket.stat(name)
        if found is not None:
            size, sha256 = found
            return ArtifactInfo(self.uri_for(key), key, size, sha256 or self._bucket.digest(name))
        relatives = self._dir_members(key)
        digests = self._each(lambda rel: self._stat_member(join_key(key, rel)), relatives)
        return _dir_info(self.uri_for(key), key, relatives, digests)

    def delete(self, key: str) -> bool:
        name = self._name(key)
        try:
            had_file = self._bucket.stat(name) is not None
            if had_file:
                self._bucket.remove(name)
            return self._bucket.remove_below(f"{name}/") > 0 or had_file
        except ArtifactNotFound:  # no bucket: nothing to delete
            return False

    def open_read(self, key: str) -> BinaryIO:
        try:
            reader = self._bucket.open(self._name(key))
        except ArtifactNotFound:
            raise self._missing_file(key) from None
        return io.BufferedReader(reader, CHUNK_SIZE)

    def _kind(self, key: str) -> ArtifactKind | None:
        name = self._name(key)
        try:
            if self._bucket.stat(name) is not None:
                return "file"
            return "dir" if self._bucket.list_below(f"{name}/", first_only=True) else None
        except ArtifactNotFound:  # no bucket
            return None

    def _name(self, key: str) -> str:
        validate_key(key)
        return f"{self._prefix}/{key}" if self._prefix else key

    def _stat_member(self, key: str) -> Digest:
        name = self._name(key)
        found = self._bucket.stat(name)
        if found is None:
            raise ArtifactNotFound(self.uri_for(key), detail="removed while being read")
        size, sha256 = found
        return Digest(sha256 or self._bucket.digest(name), size)

    def _dir_members(self, key: str) -> list[str]:
        """Relative paths of the objects of a directory artifact; errors when there are none."""
        prefix = f"{self._name(key)}/"
        relatives = [name[len(prefix) :] for name in self._bucket.list_below(prefix)]
        if not relatives:
            if self._bucket.stat(self._name(key)) is not None:
                raise is_a_file(self.uri_for(key))
            raise ArtifactNotFound(self.uri_for(key))
        for relative in relatives:  # an object named 'a/../../x' must not escape local_dir
            join_key(key, relative)
        return sorted(relatives)

    def _missing_file(self, key: str) -> ArtifactStoreError:
        if self._kind(key) == "dir":
            return is_a_directory(self.uri_for(key))
        return ArtifactNotFound(self.uri_for(key))

    def _each(self, work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        """``work`` over ``items`` on up to ``workers`` threads, results in order."""
        if len(items) <= 1 or self._workers == 1:
            return [work(item) for item in items]
        pool = ThreadPoolExecutor(min(self._workers, len(items)), "headrace-artifacts-s3")
        try:
            return list(pool.map(work, items))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _dir_info(uri: str, key: str, relatives: list[str], digests: list[Digest]) -> ArtifactInfo:
    pairs = list(zip(relatives, digests, strict=True))
    return ArtifactInfo(
        uri=uri,
        key=key,
        size=sum(digest.size for _, digest in pairs),
        sha256=dir_digest((rel, digest.sha256) for rel, digest in pairs),
        is_dir=True,
        file_count=len(pairs),
    )
