"""Whether some process holds an exclusive ``flock`` on a file (a trainer's step lock)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["lock_held"]


def lock_held(path: Path) -> bool:
    """True while another process holds a lock on ``path`` (taking it for a moment if not)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
