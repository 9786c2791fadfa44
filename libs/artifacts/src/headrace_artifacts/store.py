"""The artifact store interface every backend implements.

An artifact is stored under a *key* (see `headrace_artifacts.keys`) and addressed from outside
by a *URI* (``uri_for`` / ``key_for``). It is either a single file, or a directory: every file
below a local folder, stored under ``key/<relative path>``. Putting an artifact under a key
replaces whatever artifact was there before (file or directory). Everything is streamed in
1 MiB chunks; nothing reads a whole file into memory.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import BinaryIO, Literal

from .errors import ArtifactNotFound, ArtifactStoreError
from .info import ArtifactInfo
from .keys import validate_key

__all__ = ["ArtifactKind", "ArtifactStore", "StrPath"]

StrPath = str | os.PathLike[str]
ArtifactKind = Literal["file", "dir"]


class ArtifactStore(ABC):
    """Stores files and directories under keys, addressed by ``file://`` or ``s3://`` URIs."""

    @property
    @abstractmethod
    def root_uri(self) -> str:
        """The URI every artifact URI of this store starts with."""

    @abstractmethod
    def put_file(self, local_path: StrPath, key: str, *, sync: bool = True) -> ArtifactInfo:
        """Store the local file under ``key``, replacing any artifact there. ``sync=False``
        lets a store skip flushing it to stable storage before it answers (for what a crash
        of the machine may lose, such as a step's log); stores without the choice ignore it."""

    @abstractmethod
    def put_dir(self, local_dir: StrPath, key: str) -> ArtifactInfo:
        """Store every file below ``local_dir`` under ``key/``, replacing any artifact there.

        A folder without files is refused: object stores have no empty folders.
        """

    @abstractmethod
    def get_file(self, key: str, local_path: StrPath) -> ArtifactInfo:
        """Download the file artifact to ``local_path`` (atomically; parents are created)."""

    @abstractmethod
    def get_dir(self, key: str, local_dir: StrPath) -> ArtifactInfo:
        """Download every file of the directory artifact below ``local_dir``.

        Files already in ``local_dir`` that the artifact does not hold are left alone.
        """

    @abstractmethod
    def stat(self, key: str) -> ArtifactInfo:
        """Size, digest and shape of the artifact; `ArtifactNotFound` when there is none."""

    @abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the artifact (file or directory); False when there was nothing to remove."""

    @abstractmethod
    def uri_for(self, key: str) -> str:
        """The URI of ``key`` in this store."""

    @abstractmethod
    def key_for(self, uri: str) -> str:
        """The key of a URI of this store; `InvalidArtifactKey` for any other URI."""

    @abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """A streaming reader over a file artifact; close it (use ``with``)."""

    @abstractmethod
    def _kind(self, key: str) -> ArtifactKind | None:
        """What is stored under a valid key, if anything."""

    def exists(self, key: str) -> bool:
        """Whether a file or a directory artifact is stored under ``key``."""
        return self._kind(validate_key(key)) is not None

    def get(self, uri_or_key: str, local_path: StrPath) -> ArtifactInfo:
        """Download a file or directory artifact, whichever is stored, to ``local_path``."""
        key = self.resolve_key(uri_or_key)
        kind = self._kind(key)
        if kind is None:
            raise ArtifactNotFound(self.uri_for(key))
        if kind == "dir":
            return self.get_dir(key, local_path)
        return self.get_file(key, local_path)

    def resolve_key(self, uri_or_key: str) -> str:
        """Accept a URI of this store or a key, and return the key."""
        if "://" in uri_or_key:
            return self.key_for(uri_or_key)
        return validate_key(uri_or_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root_uri!r})"


def is_a_directory(uri: str) -> ArtifactStoreError:
    """The error for a file operation on a directory artifact."""
    return ArtifactStoreError(
        f"{uri} is a directory artifact: use get_dir(), or get() which handles both"
    )


def is_a_file(uri: str) -> ArtifactStoreError:
    """The error for a directory operation on a file artifact."""
    return ArtifactStoreError(
        f"{uri} is a file artifact: use get_file(), or get() which handles both"
    )


def not_a_local_file(path: StrPath, key: str) -> ArtifactStoreError:
    """The error for ``put_file`` of something that is not a readable file."""
    return ArtifactStoreError(
        f"cannot store {os.fspath(path)!r} as {key!r}: it is not a file "
        "(use put_dir() for a folder)"
    )


def not_a_local_dir(path: StrPath, key: str) -> ArtifactStoreError:
    """The error for ``put_dir`` of something that is not a folder, or an empty one."""
    return ArtifactStoreError(
        f"cannot store {os.fspath(path)!r} as directory {key!r}: it is not a folder with at "
        "least one file (use put_file() for a file; object stores have no empty folders)"
    )
