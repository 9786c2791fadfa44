"""Atomic local writes: write a temporary sibling, then rename it over the final name.

A crash or an error part-way leaves at most a ``.headrace-tmp-*`` entry next to the target
(removed on error whenever the process lives to see it), never a half-written file under the
final name. Store walks skip the reserved names.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .keys import RESERVED_PREFIX

__all__ = ["atomic_write", "remove_tree", "replace_path", "temp_sibling"]


def temp_sibling(target: Path) -> Path:
    """A fresh reserved name in ``target``'s folder (not created)."""
    return target.parent / f"{RESERVED_PREFIX}{secrets.token_hex(8)}"


@contextmanager
def atomic_write(target: Path, *, sync: bool = True) -> Iterator[IO[bytes]]:
    """Yield a binary file that replaces ``target`` when the block exits without error.

    The data is fsynced before the rename, unless ``sync`` is False (a crash of the machine
    may then leave the file short, never half-renamed). A directory at ``target`` is replaced
    too (moved aside, then removed once the file is in place). The parent folder must exist.
    """
    temp = temp_sibling(target)
    # O_EXCL: never follow or reuse an existing entry; 0o666 lets the umask decide the mode.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        replace_path(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def replace_path(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target``: a file or a folder over nothing, a file or a folder.

    File over file is one atomic ``os.replace``. When a folder is involved, the old entry is
    first renamed to a reserved name and removed once ``source`` is in place, so ``target``
    is briefly absent but never half-written.
    """
    if not _is_real_dir(source) and not _is_real_dir(target):
        os.replace(source, target)
        return
    old: Path | None = None
    if target.exists() or target.is_symlink():
        old = temp_sibling(target)
        target.rename(old)
    try:
        source.rename(target)
    except BaseException:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        _remove(old)


def remove_tree(path: Path) -> None:
    """Remove a file or folder; a folder is first renamed to a reserved name, so a partly
    removed folder is never visible under its own name."""
    if _is_real_dir(path):
        doomed = temp_sibling(path)
        path.rename(doomed)
        shutil.rmtree(doomed)
    else:
        path.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    if _is_real_dir(path):
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _is_real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
