"""Where step environments live on disk, and the small files that describe them.

::

    <home>/envs/
        <digest>/                 one complete environment (a uv venv); never a half-built one
            headrace-env.json     what it holds (`EnvironmentRecord`), written before it is
                                  renamed into place
            .last-used            touched each time a step uses it (its mtime)
        .build-<digest>-<hex>/    an environment being built, renamed to <digest>/ when done
        .trash-<digest>-<hex>/    an environment being removed
        .locks/<digest>.lock      held while <digest> is built or removed (across replicas)
        .locks/<digest>.use       a shared lock held by each step running in <digest>
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["EnvironmentRecord", "EnvironmentsLayout"]

RECORD = "headrace-env.json"
LAST_USED = ".last-used"


@dataclass(frozen=True)
class EnvironmentRecord:
    digest: str
    packages: list[str]
    index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    python: str = ""
    created_at: float = 0.0
    build_seconds: float = 0.0


class EnvironmentsLayout:
    """The environments folder of one Headrace home."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest

    def python(self, digest: str) -> Path:
        return self.path(digest) / "bin" / "python"

    def build_lock(self, digest: str) -> Path:
        return self._locks() / f"{digest}.lock"

    def new_build_folder(self, digest: str) -> Path:
        return self.root / f".build-{digest}-{uuid.uuid4().hex[:8]}"

    def record(self, digest: str) -> EnvironmentRecord | None:
        """The record of a complete environment; None when there is none."""
        return read_record(self.path(digest))

    def digests(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if not entry.name.startswith(".") and (entry / RECORD).is_file()
        )

    def publish(self, folder: Path, record: EnvironmentRecord) -> None:
        """Write ``record`` into the built ``folder`` and rename it into place (atomic)."""
        (folder / RECORD).write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
        (folder / LAST_USED).touch()
        target = self.path(record.digest)
        if target.exists():
            if read_record(target) is not None:  # complete already: keep the one in place
                shutil.rmtree(folder, ignore_errors=True)
                return
            self.remove(record.digest)  # not an environment of ours: never used as one
        os.rename(folder, target)

    def remove(self, digest: str) -> None:
        """Take the environment out of place at once, then delete it."""
        trash = self.root / f".trash-{digest}-{uuid.uuid4().hex[:8]}"
        with contextlib.suppress(FileNotFoundError):
            os.rename(self.path(digest), trash)
            shutil.rmtree(trash, ignore_errors=True)

    def clean_leftovers(self, digest: str) -> None:
        """Remove folders of builds and removals of ``digest`` that a crash left behind
        (call it holding the digest's build lock)."""
        for prefix in (".build-", ".trash-"):
            for folder in self.root.glob(f"{prefix}{digest}-*"):
                shutil.rmtree(folder, ignore_errors=True)

    def touch(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path(digest) / LAST_USED)

    def last_used(self, digest: str) -> float:
        try:
            return (self.path(digest) / LAST_USED).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def size(self, digest: str) -> int:
        total = 0
        for folder, _, files in os.walk(self.path(digest)):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(folder, name)).st_size
        return total

    @contextlib.contextmanager
    def in_use(self, digest: str) -> Iterator[None]:
        """Hold the shared use lock of ``digest`` (a step runs in it)."""
        fd = os.open(self._locks() / f"{digest}.use", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def is_in_use(self, digest: str) -> bool:
        """Whether a step (of any replica sharing this home) holds the use lock."""
        fd = os.open(self._locks() / f"{digest}.use", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def _locks(self) -> Path:
        folder = self.root / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def read_record(folder: Path) -> EnvironmentRecord | None:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        return EnvironmentRecord(**data)
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, TypeError):
        return None
