"""Listing the files of a local directory artifact, in digest order."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ArtifactStoreError, InvalidArtifactKey
from .keys import is_reserved_name

__all__ = ["list_files"]


def list_files(directory: Path, *, confine_to: Path | None = None) -> list[tuple[str, Path]]:
    """Every regular file below ``directory`` as ``(relative POSIX path, path)``, sorted.

    Symlinks to files are followed (their content is the artifact's); a symlink to a folder
    is refused rather than silently skipped. Entries with reserved names (writes in progress)
    are skipped. With ``confine_to``, a file whose real path lies outside that folder raises
    `InvalidArtifactKey`, so a link planted in a store root cannot expose other files.
    """
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(directory, onerror=_raise):
        base = Path(dirpath)
        kept: list[str] = []
        for name in sorted(dirnames):
            if is_reserved_name(name):
                continue
            if (base / name).is_symlink():
                raise ArtifactStoreError(
                    f"{base / name} is a symlink to a folder, which a directory artifact cannot "
                    "hold: copy the folder in or remove the link"
                )
            kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            if is_reserved_name(name):
                continue
            path = base / name
            relative = path.relative_to(directory).as_posix()
            if confine_to is not None and not path.resolve().is_relative_to(confine_to):
                raise InvalidArtifactKey(
                    relative,
                    f"{path} links outside the store root {confine_to}",
                    fix="remove the symlink from the store",
                )
            if not path.is_file():
                raise ArtifactStoreError(
                    f"{path} is not a regular file (a broken symlink, socket or pipe): "
                    "remove it or replace it with the file it should be"
                )
            found.append((relative, path))
    found.sort()
    return found


def _raise(error: OSError) -> None:
    raise error
