"""``file://`` artifact store: a root folder on a local or shared file system.

Writes go to a reserved temporary sibling (``.headrace-tmp-*``) and are renamed into place,
so a reader never sees a half-written file or directory. Digests are recomputed by streaming
in `stat` (no sidecar files). A key is resolved through any symlinks and must stay inside the
root, so a link planted in the root cannot expose or overwrite files elsewhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ._atomic import atomic_write, remove_tree, replace_path, temp_sibling
from ._walk import list_files
from .digest import Digest, copy_and_hash, dir_digest, hash_file
from .errors import ArtifactNotFound, ArtifactStoreError, InvalidArtifactKey
from .info import ArtifactInfo
from .keys import is_reserved_name, join_key, validate_key
from .store import (
    ArtifactKind,
    ArtifactStore,
    StrPath,
    is_a_directory,
    is_a_file,
    not_a_local_dir,
    not_a_local_file,
)

__all__ = ["FileStore", "default_root"]


def default_root(home: StrPath | None = None) -> Path:
    """``<Headrace home>/artifacts``; the home is ``home``, else ``$HEADRACE_HOME``, else
    ``~/.headrace``."""
    base = home if home is not None else os.environ.get("HEADRACE_HOME") or "~/.headrace"
    return Path(base).expanduser().absolute() / "artifacts"


class FileStore(ArtifactStore):
    """Artifacts as files and folders below ``root`` (created on first write)."""

    def __init__(self, root: StrPath | None = None) -> None:
        chosen = Path(root) if root is not None else default_root()
        self._root = Path(os.path.abspath(chosen.expanduser()))
        self._real_root = self._root.resolve()

    @property
    def root(self) -> Path:
        """The root folder, as given (made absolute)."""
        return self._root

    @property
    def root_uri(self) -> str:
        return self._root.as_uri()

    def uri_for(self, key: str) -> str:
        return self._root.joinpath(*validate_key(key).split("/")).as_uri()

    def key_for(self, uri: str) -> str:
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise InvalidArtifactKey(
                uri,
                f"it is not a local file:// URI, so not in this store ({self.root_uri})",
                fix="open the store that URI belongs to, or pass a key",
            )
        if parts.query or parts.fragment:
            raise InvalidArtifactKey(uri, "it has a query or fragment", fix="percent-encode '?#'")
        path = Path(url2pathname(parts.path))
        for root in (self._root, self._real_root):
            if path.is_relative_to(root) and path != root:
                return validate_key(path.relative_to(root).as_posix())
        raise InvalidArtifactKey(
            uri,
            f"it lies outside this store's root {self.root_uri}",
            fix="open a store rooted there, or pass a URI below this root",
        )

    def put_file(self, local_path: StrPath, key: str, *, sync: bool = True) -> ArtifactInfo:
        path = self._path(key)
        source = Path(local_path)
        if not source.is_file():
            raise not_a_local_file(local_path, key)
        with self._os_errors(f"storing {source} as {self.uri_for(key)}"):
            self._make_parent(path, key)
            with source.open("rb") as reader, atomic_write(path, sync=sync) as writer:
                digest = copy_and_hash(reader, writer)
        return self._file_info(key, digest)

    def put_dir(self, local_dir: StrPath, key: str) -> ArtifactInfo:
        path = self._path(key)
        source = Path(local_dir)
        with self._os_errors(f"storing {source} as {self.uri_for(key)}"):
            files = list_files(source) if source.is_dir() else []
            if not files:
                raise not_a_local_dir(local_dir, key)
            for relative, _ in files:
                join_key(key, relative)  # every stored name must be a valid key
            self._make_parent(path, key)
            staging = temp_sibling(path)
            staging.mkdir()
            try:
                digests = [(rel, _copy_file(file, staging / rel)) for rel, file in files]
                replace_path(staging, path)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return self._dir_info(key, digests)

    def get_file(self, key: str, local_path: StrPath) -> ArtifactInfo:
        target = Path(local_path)
        reader = self.open_read(key)
        with reader, self._os_errors(f"downloading {self.uri_for(key)} to {target}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target) as writer:
                digest = copy_and_hash(reader, writer)
        return self._file_info(key, digest)

    def get_dir(self, key: str, local_dir: StrPath) -> ArtifactInfo:
        target = Path(local_dir)
        with self._os_errors(f"downloading {self.uri_for(key)} to {target}"):
            files = self._dir_files(key)
            digests = [(rel, _copy_file(file, target / rel)) for rel, file in files]
        return self._dir_info(key, digests)

    def stat(self, key: str) -> ArtifactInfo:
        path = self._path(key)
        with self._os_errors(f"reading {self.uri_for(key)}"):
            if path.is_file():
                return self._file_info(key, hash_file(path))
            files = self._dir_files(key)
            return self._dir_info(key, [(rel, hash_file(file)) for rel, file in files])

    def delete(self, key: str) -> bool:
        path = self._path(key)
        existed = self._kind(key) is not None
        with self._os_errors(f"deleting {self.uri_for(key)}"):
            if path.is_symlink() or path.exists():
                remove_tree(path)
            self._prune_empty_parents(path.parent)
        return existed

    def open_read(self, key: str) -> BinaryIO:
        path = self._path(key)
        if path.is_dir() and _has_files(path):
            raise is_a_directory(self.uri_for(key))
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ArtifactNotFound(self.uri_for(key)) from None
        except OSError as error:
            raise ArtifactStoreError(f"reading {self.uri_for(key)} failed: {error}") from error

    def _kind(self, key: str) -> ArtifactKind | None:
        path = self._path(key)
        if path.is_file():
            return "file"
        if path.is_dir() and _has_files(path):
            return "dir"
        return None

    def _path(self, key: str) -> Path:
        path = self._root.joinpath(*validate_key(key).split("/"))
        try:
            real = path.resolve()
        except (OSError, RuntimeError) as error:  # a symlink loop
            raise InvalidArtifactKey(
                key, f"it cannot be resolved ({error})", fix="remove the symlink loop"
            ) from error
        if not real.is_relative_to(self._real_root):
            raise InvalidArtifactKey(
                key,
                f"it resolves through a symlink to {real}, outside the store root {self._root}",
                fix="remove that symlink from the store, or use another key",
            )
        return path

    def _dir_files(self, key: str) -> list[tuple[str, Path]]:
        path = self._path(key)
        if path.is_file():
            raise is_a_file(self.uri_for(key))
        files = list_files(path, confine_to=self._real_root) if path.is_dir() else []
        if not files:
            raise ArtifactNotFound(self.uri_for(key))
        return files

    def _make_parent(self, path: Path, key: str) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidArtifactKey(
                key,
                "a folder on its path is already a file artifact",
                fix="delete that artifact first, or choose a key that is not below it",
            ) from None

    def _prune_empty_parents(self, folder: Path) -> None:
        while folder != self._root and folder.is_relative_to(self._root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def _file_info(self, key: str, digest: Digest) -> ArtifactInfo:
        return ArtifactInfo(self.uri_for(key), key, digest.size, digest.sha256)

    def _dir_info(self, key: str, digests: list[tuple[str, Digest]]) -> ArtifactInfo:
        return ArtifactInfo(
            uri=self.uri_for(key),
            key=key,
            size=sum(digest.size for _, digest in digests),
            sha256=dir_digest((rel, digest.sha256) for rel, digest in digests),
            is_dir=True,
            file_count=len(digests),
        )

    @contextmanager
    def _os_errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            raise ArtifactStoreError(f"{action} failed: {error}") from error


def _copy_file(source: Path, target: Path) -> Digest:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, atomic_write(target) as writer:
        return copy_and_hash(reader, writer)


def _has_files(folder: Path) -> bool:
    for _, dirnames, filenames in os.walk(folder):
        dirnames[:] = [name for name in dirnames if not is_reserved_name(name)]
        if any(not is_reserved_name(name) for name in filenames):
            return True
    return False
