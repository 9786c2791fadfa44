"""What the store knows about one stored artifact."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ArtifactInfo"]


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """A stored file or directory artifact.

    ``sha256`` is the hex digest of the file's bytes, or for a directory the digest defined
    in `headrace_artifacts.digest.dir_digest`. ``size`` is in bytes (for a directory, the sum
    of its files) and ``file_count`` is 1 for a file.
    """

    uri: str
    key: str
    size: int
    sha256: str
    is_dir: bool = False
    file_count: int = 1

    @property
    def digest(self) -> str:
        """The digest as events carry it: ``sha256:<hex>``."""
        return f"sha256:{self.sha256}"
