"""The records a step's process leaves beside its workdir, so that a trainer started after
the one that launched it can tell what became of it (read by `headrace_trainer.ledger`).

* the *process record* (``process.json``): ``{"pid", "start", "started_at"}``, written by
  the step's process itself before any of the user's code runs, and never overwritten: it
  is created by linking a complete file into place, so it either exists whole or not at
  all, and whoever creates it first wins. A trainer that finds an execution that never
  started voids it the same way (``{"void": true}``), so a request still in flight cannot
  start it afterwards.
* the *exit record* (``exit.json``): ``{"pid", "exit"}`` (``-N``: killed by signal N),
  written by the process's parent (the fork server or the `shim`) before it reaps the
  process, so once the process is gone from ``/proc`` its exit record is there, unless its
  parent died too.

``start`` is the process's start time in clock ticks since boot (``/proc/<pid>/stat``,
field 22): a pid reused by another process has another start time. This module imports
nothing from Headrace: the fork server and the shim must start fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

__all__ = [
    "VOIDED",
    "claim",
    "exit_code",
    "process_state",
    "read_record",
    "void",
    "write_exit",
]

VOIDED = 75  # EX_TEMPFAIL: the exit status of a voided execution's process (it ran nothing)


def process_state(pid: int) -> tuple[int, str] | None:
    """``(start ticks, state letter)`` of ``pid`` from ``/proc``; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            data = file.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[19]), fields[0].decode()


def claim(path: str) -> bool:
    """Write this process's record at ``path``; False when the execution was voided (or
    claimed) first, and the caller must then not run the step."""
    pid = os.getpid()
    state = process_state(pid)
    body = {"pid": pid, "start": state[0] if state else 0, "started_at": time.time()}
    return _create(path, body)


def void(path: str) -> bool:
    """Mark an execution that never started as never to start; False when its process
    claimed it first (it runs, or ran)."""
    return _create(path, {"void": True})


def write_exit(path: str, pid: int, code: int) -> None:
    """Record how ``pid`` ended (atomically: a reader sees all of it or nothing)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(json.dumps({"pid": pid, "exit": code}))
    os.replace(temporary, path)


def exit_code(status: os.waitid_result) -> int:
    """The exit code of a ``waitid`` result; ``-N`` when signal N ended the process."""
    if status.si_code == os.CLD_EXITED:
        return int(status.si_status)
    return -int(status.si_status)


def read_record(path: str) -> dict[str, Any] | None:
    """A record's content; None when it does not exist (or is not a JSON object)."""
    try:
        with open(path, encoding="utf-8") as file:
            found = json.load(file)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _create(path: str, body: dict[str, Any]) -> bool:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(json.dumps(body))
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    return True
