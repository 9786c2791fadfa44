"""Step logs: where they are stored and the tail a failure event carries (pure)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = [
    "TAIL_BYTES",
    "exception_line",
    "log_key",
    "outcome_key",
    "read_tail",
    "safe_segment",
    "step_key",
]

TAIL_BYTES = 2048
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(: .*)?$")


def safe_segment(text: str) -> str:
    """``text`` as one artifact-key segment; a suffix of its hash keeps changed names apart."""
    clean = _UNSAFE.sub("_", text).strip(".") or "_"
    if clean.startswith(".headrace-tmp-"):
        clean = "_" + clean
    if clean == text:
        return clean
    return f"{clean}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def step_key(run_id: str, step_id: str) -> str:
    """``runs/<run>/<step path>`` with every part made key-safe
    (``root/for-loop-2[3]/train`` -> ``root/for-loop-2_3_-<hash>/train``)."""
    parts = [safe_segment(part) for part in step_id.split("/") if part]
    return "/".join(["runs", safe_segment(run_id), *(parts or ["_"])])


def log_key(run_id: str, step_id: str, attempt: int) -> str:
    return f"{step_key(run_id, step_id)}/attempt-{attempt}/log.txt"


def outcome_key(run_id: str, step_id: str, attempt: int) -> str:
    """Where a step run in a pod leaves its `Outcome` JSON for the launcher."""
    return f"{step_key(run_id, step_id)}/attempt-{attempt}/outcome.json"


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of a log file, decoded leniently; "" when there is none."""
    try:
        with path.open("rb") as file:
            file.seek(0, 2)
            size = file.tell()
            file.seek(max(0, size - limit))
            data = file.read()
    except FileNotFoundError:
        return ""
    return data.decode("utf-8", errors="replace")


def exception_line(tail: str) -> str:
    """The first line of the exception of the last Python traceback in ``tail``
    (``JobFailedError: training job 'default/x' failed ...``, without the module path);
    "" when the tail holds no traceback."""
    lines = tail.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)]
    if not starts:
        return ""
    for line in lines[starts[-1] + 1 :]:
        if not line or line[0].isspace():
            continue  # a frame, or its source line
        if _EXCEPTION.match(line):
            kind, colon, message = line.partition(":")
            return kind.rpartition(".")[2] + colon + message
        return ""
    return ""
