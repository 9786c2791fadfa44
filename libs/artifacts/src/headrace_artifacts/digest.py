"""Content digests, computed while streaming in 1 MiB chunks (a file is never read whole).

File digest
    The SHA-256 of the file's bytes, as lowercase hex.

Directory digest
    The SHA-256 over the directory's files sorted by their relative POSIX path (code point
    order, which is also UTF-8 byte order). For each file the hash is fed::

        <relative path as UTF-8> NUL <file sha256 hex> LF

    Paths are those below the directory (``weights/layer1.bin``), so the digest does not
    depend on where the directory is stored, and an artifact keeps its digest when copied
    between a ``file://`` and an ``s3://`` store. Valid keys contain neither NUL nor LF, so
    the encoding is unambiguous.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple, Protocol

__all__ = [
    "CHUNK_SIZE",
    "Digest",
    "Readable",
    "Writable",
    "copy_and_hash",
    "dir_digest",
    "hash_file",
    "hash_stream",
]

CHUNK_SIZE = 1024 * 1024


class Readable(Protocol):
    """Anything with ``read(size) -> bytes`` (files, HTTP responses)."""

    def read(self, size: int, /) -> bytes: ...


class Writable(Protocol):
    """Anything with ``write(bytes)``."""

    def write(self, data: bytes, /) -> object: ...


class Digest(NamedTuple):
    """SHA-256 (hex) and size in bytes of a stream."""

    sha256: str
    size: int


def hash_stream(source: Readable) -> Digest:
    """Digest everything ``source`` still has to read."""
    return copy_and_hash(source, None)


def hash_file(path: Path) -> Digest:
    """Digest the file at ``path``."""
    with path.open("rb") as source:
        return hash_stream(source)


def copy_and_hash(source: Readable, target: Writable | None) -> Digest:
    """Copy ``source`` to ``target`` (when given) chunk by chunk, digesting on the way."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return Digest(digest.hexdigest(), size)


def dir_digest(files: Iterable[tuple[str, str]]) -> str:
    """Digest of a directory from its ``(relative path, file sha256 hex)`` pairs, any order."""
    digest = hashlib.sha256()
    for relative_path, file_sha256 in sorted(files):
        digest.update(relative_path.encode("utf-8"))
        digest.update(b"\0")
        digest.update(file_sha256.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()
