"""Reading a stored file by URI (a step's log, an artifact), as ``headrace run logs`` does:
a ``file://`` URI from its folder, an ``s3://`` one through the service's S3 settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from headrace_artifacts import ArtifactStore, ArtifactStoreError, open_store

__all__ = ["ArtifactStoreError", "read_range", "store_for"]


def store_for(uri: str, s3: dict[str, Any]) -> tuple[ArtifactStore, str]:
    """A store holding ``uri`` and the key of ``uri`` in it."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        store = open_store(Path(url2pathname(parts.path)).parent.as_uri())
    elif parts.scheme == "s3":
        store = open_store(f"s3://{parts.netloc}", **s3)
    else:
        raise ArtifactStoreError(f"cannot read {uri!r}: only file:// and s3:// URIs are supported")
    return store, store.key_for(uri)


def read_range(uri: str, offset: int, limit: int, s3: dict[str, Any]) -> tuple[bytes, int]:
    """At most ``limit`` bytes of the file at ``uri`` from byte ``offset``, and its size."""
    store, key = store_for(uri, s3)
    with store.open_read(key) as reader:
        if reader.seekable():
            size = reader.seek(0, 2)
            reader.seek(min(offset, size))
            return reader.read(limit), size
        whole = reader.read()
        return whole[offset : offset + limit], len(whole)
