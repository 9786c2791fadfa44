"""Errors raised by the artifact store.

::

    ArtifactStoreError            the root; ``retryable`` says whether trying again may help
    ├── InvalidArtifactKey        a key or URI that is malformed, escapes the store or names
    │                             another store (also a ``ValueError``); never retryable
    ├── ArtifactNotFound          nothing is stored under the key; names the URI
    └── ArtifactStoreUnavailable  the backend did not answer or is overloaded; retryable

Errors from the backends (``minio.error.S3Error``, urllib3 connection errors, ``OSError``)
are translated into these at the store's edge, with the original chained as ``__cause__``.
"""

from __future__ import annotations


class ArtifactStoreError(Exception):
    """Root of every artifact store error."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class InvalidArtifactKey(ArtifactStoreError, ValueError):
    """A key (or URI) the store refuses: malformed, escaping the root, or of another store."""

    def __init__(self, key: str, reason: str, *, fix: str | None = None) -> None:
        self.key = key
        self.reason = reason
        hint = fix or ("use a relative POSIX path inside the store, e.g. 'runs/42/train/model.pt'")
        super().__init__(f"invalid artifact key {key!r}: {reason}; {hint}")


class ArtifactNotFound(ArtifactStoreError):
    """Nothing (neither a file nor a directory) is stored under the key."""

    def __init__(self, uri: str, *, detail: str = "") -> None:
        self.uri = uri
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"no artifact at {uri}{suffix}")


class ArtifactStoreUnavailable(ArtifactStoreError):
    """The storage backend could not be reached or asked us to slow down; retry later."""

    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)
