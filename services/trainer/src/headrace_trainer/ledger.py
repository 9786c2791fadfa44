"""What this machine's trainers know of each step attempt, on disk in the Headrace home, so
that a trainer started after another died finds the steps it left.

::

    <home>/work/<run>/<step>/attempt-<n>/
        lock              flock'ed by the trainer that handles the attempt (the kernel
                          releases it when that trainer dies)
        outcome.json      the Outcome, once known (kept after the rest is removed, until
                          the attempt can no longer be redelivered: see `prune`)
        exec-<k>/         the k-th local execution of the attempt: the records folder
                          of its one-replica gang on the workload backend (`stepgang`)
            plan.pickle   the Plan, written before the process starts
            gang.json     the gang as the backend started it (to adopt it)
            process.json  the process record (pid, start), written by the process itself
            exit.json     the exit record, written by its parent before reaping it
            log.txt       the step's log
            abandoned     this trainer killed it on shutdown: run it again
            work/         the step's workdir

An execution is judged (`Execution.judge`) as running, exited (with its exit code) or gone
(never started, voided, abandoned, or ended without an exit record): only a gone one is run
again, as execution k + 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import pickle
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from headrace_contracts import StepReady

from .adopt import alive
from .executor.logs import safe_segment
from .executor.outcome import Outcome
from .executor.plan import Plan
from .executor.runner import Records
from .forkserver import records

__all__ = ["Attempt", "Execution", "Judgement", "Ledger"]

log = logging.getLogger("headrace.trainer.ledger")

LOCK_POLL_SECONDS = 0.2
NAME_LIMIT = 100


@dataclass(frozen=True)
class Judgement:
    """What became of an execution's process."""

    state: Literal["running", "exited", "gone"]
    pid: int = 0
    start: int = 0
    started_at: float = 0.0
    exit_code: int | None = None


@dataclass(frozen=True)
class Execution:
    folder: Path
    number: int

    @property
    def workdir(self) -> Path:
        return self.folder / "work"

    @property
    def records(self) -> Records:
        return Records(process=self.folder / "process.json", exit=self.folder / "exit.json")

    def keep_plan(self, plan: Plan) -> None:
        (self.folder / "plan.pickle").write_bytes(pickle.dumps(plan))

    def plan(self) -> Plan | None:
        """The plan this execution was started with (a file this trainer wrote itself)."""
        try:
            found = pickle.loads((self.folder / "plan.pickle").read_bytes())
        except Exception:  # a missing file or one an older trainer wrote: unusable alike
            return None
        return found if isinstance(found, Plan) else None

    def abandon(self) -> None:
        """Mark it to run again: this trainer stopped it on the way out."""
        with contextlib.suppress(OSError):
            (self.folder / "abandoned").touch()

    def judge(self) -> Judgement:
        process = records.read_record(str(self.records.process))
        if process is None and records.void(str(self.records.process)):
            return Judgement("gone")  # never started, and now never will
        process = process or records.read_record(str(self.records.process)) or {}
        if process.get("void") or (self.folder / "abandoned").exists():
            return Judgement("gone")
        pid, start = int(process.get("pid", 0)), int(process.get("start", 0))
        started_at = float(process.get("started_at", 0.0))
        ended = records.read_record(str(self.records.exit))
        if ended is not None and ended.get("pid") == pid:
            return Judgement("exited", pid, start, started_at, int(ended["exit"]))
        if pid and alive(pid, start):
            return Judgement("running", pid, start, started_at)
        ended = records.read_record(str(self.records.exit))  # recorded just before reaping
        if ended is not None and ended.get("pid") == pid:
            return Judgement("exited", pid, start, started_at, int(ended["exit"]))
        return Judgement("gone", pid, start, started_at)


class Attempt:
    """One step attempt's folder, while this trainer holds its lock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def recall(self) -> Outcome | Execution | None:
        """The attempt's recorded outcome, else its latest execution, else None."""
        outcome = self.outcome()
        return outcome if outcome is not None else self.latest()

    def outcome(self) -> Outcome | None:
        try:
            return Outcome.model_validate_json((self.folder / "outcome.json").read_bytes())
        except FileNotFoundError:
            return None
        except ValidationError as error:
            log.warning("ignoring unreadable outcome record in %s: %s", self.folder, error)
            return None

    def latest(self) -> Execution | None:
        numbers = [
            int(entry.name[5:])
            for entry in os.scandir(self.folder)
            if entry.name.startswith("exec-") and entry.name[5:].isdigit()
        ]
        if not numbers:
            return None
        number = max(numbers)
        return Execution(self.folder / f"exec-{number}", number)

    def next_execution(self, previous: Execution | None) -> Execution:
        """A fresh execution folder after ``previous`` (which is gone: removed here)."""
        number = previous.number + 1 if previous else 1
        execution = Execution(self.folder / f"exec-{number}", number)
        execution.workdir.mkdir(parents=True, exist_ok=True)
        if previous is not None:
            shutil.rmtree(previous.folder, ignore_errors=True)
        return execution

    def finish(self, outcome: Outcome) -> None:
        """Record ``outcome`` and remove the executions (their workdirs with them)."""
        target = self.folder / "outcome.json"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(outcome.model_dump_json(), encoding="utf-8")
        os.replace(temporary, target)
        for entry in os.scandir(self.folder):
            if entry.name.startswith("exec-"):
                shutil.rmtree(entry.path, ignore_errors=True)


class Ledger:
    """The attempt folders below ``root`` (``<home>/work``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, step: StepReady) -> Path:
        return self.root / _name(step.run_id) / _name(step.step_id) / f"attempt-{step.attempt}"

    def known(self, step: StepReady) -> bool:
        """Whether a trainer here took up this attempt of ``step`` (it may run)."""
        return self.folder(step).is_dir()

    @contextlib.asynccontextmanager
    async def hold(self, step: StepReady) -> AsyncIterator[Attempt]:
        """The attempt of ``step``, locked for this trainer (waiting while another live
        trainer on this machine holds it)."""
        folder = self.folder(step)
        fd = await asyncio.to_thread(_open_lock, folder)
        try:
            # A lock another process holds, which gives no notice when freed: poll it.
            while not _try_lock(fd):  # noqa: ASYNC110
                await asyncio.sleep(LOCK_POLL_SECONDS)
            yield Attempt(folder)
        finally:
            os.close(fd)  # releases the lock

    def prune(self, older_than: float) -> int:
        """Remove attempt folders untouched for ``older_than`` seconds whose lock is free and
        whose process (if any) is gone; how many."""
        removed = 0
        cutoff = time.time() - older_than
        for lock in self.root.glob("*/*/attempt-*/lock"):
            folder = lock.parent
            try:
                if _newest_change(folder) > cutoff:
                    continue
                fd = os.open(lock, os.O_RDWR)
            except OSError:
                continue
            try:
                if not _try_lock(fd):
                    continue
                latest = Attempt(folder).latest()
                if latest is not None and latest.judge().state == "running":
                    continue
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
            finally:
                os.close(fd)
        for parent in [*self.root.glob("*/*"), *self.root.glob("*")]:
            with contextlib.suppress(OSError):
                parent.rmdir()  # only once empty
        return removed


def _name(text: str) -> str:
    """``text`` as one folder name, distinct for distinct texts."""
    name = safe_segment(text)
    if len(name) <= NAME_LIMIT:
        return name
    return f"{name[: NAME_LIMIT - 17]}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _open_lock(folder: Path) -> int:
    for _ in range(3):  # `prune` may remove an empty parent folder just as it is made
        folder.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(folder / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            continue
    return os.open(folder / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _newest_change(folder: Path) -> float:
    return max(entry.stat().st_mtime for entry in [folder, *folder.iterdir()])
