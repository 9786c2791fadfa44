"""Debian's chromium for the browser tests, driven by Playwright through its executable
path (no browser download): where it is, or why the tests are skipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL = "apt-get install chromium (.ci/run installs it when it is missing)"


def chromium() -> Path | None:
    """``$HEADRACE_CHROMIUM`` if set (a path), else Debian's chromium, else one on PATH."""
    given = os.environ.get("HEADRACE_CHROMIUM")
    if given is not None:
        path = Path(given)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    for candidate in CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("chromium")
    return Path(found) if found else None


def why_skipped() -> str:
    where = os.environ.get("HEADRACE_CHROMIUM") or " or ".join(CANDIDATES)
    return f"browser tests SKIPPED: no chromium at {where}: {INSTALL}"
