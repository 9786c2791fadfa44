"""File-like adapters between local files, digests and S3 HTTP responses."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

from urllib3 import BaseHTTPResponse

from ._s3_errors import translate_s3_errors
from .digest import Digest

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["HashingReader", "ResponseReader"]


class HashingReader:
    """Wraps a binary file for ``put_object`` and digests exactly the bytes that were sent."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._hash = hashlib.sha256()
        self._size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self._hash.update(data)
        self._size += len(data)
        return data

    def digest(self) -> Digest:
        return Digest(self._hash.hexdigest(), self._size)


class ResponseReader(io.RawIOBase):
    """A raw reader over a streamed ``get_object`` response that releases it on close.

    Wrap it in `io.BufferedReader`. Network failures while reading surface as
    `ArtifactStoreUnavailable`.
    """

    def __init__(self, response: BaseHTTPResponse, uri: str, endpoint: str) -> None:
        super().__init__()
        self._response = response
        self._uri = uri
        self._endpoint = endpoint

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (user metadata arrives as ``x-amz-meta-*``)."""
        return self._response.headers

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        with translate_s3_errors(self._uri, self._endpoint):
            data = self._response.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()
