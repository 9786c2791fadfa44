"""What the ledger makes of an execution's records (real files, real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from headrace_contracts import StepReady
from headrace_trainer.forkserver import records
from headrace_trainer.ledger import Attempt, Execution, Ledger


def execution(tmp_path: Path) -> Execution:
    found = Attempt(tmp_path / "attempt-1").next_execution(None)
    assert found.number == 1
    return found


def test_an_execution_that_never_started_is_gone_and_voided(tmp_path: Path) -> None:
    unstarted = execution(tmp_path)

    assert unstarted.judge().state == "gone"
    assert not records.claim(str(unstarted.records.process))  # a late start runs nothing


def test_an_execution_of_a_live_process_is_running(tmp_path: Path) -> None:
    live = execution(tmp_path)
    assert records.claim(str(live.records.process))  # this test's own process

    found = live.judge()

    assert (found.state, found.pid) == ("running", os.getpid())


def test_an_execution_with_an_exit_record_has_exited(tmp_path: Path) -> None:
    ended = execution(tmp_path)
    assert records.claim(str(ended.records.process))
    records.write_exit(str(ended.records.exit), os.getpid(), -15)

    found = ended.judge()

    assert (found.state, found.exit_code) == ("exited", -15)


def test_a_process_gone_without_an_exit_record_is_gone(tmp_path: Path) -> None:
    lost = execution(tmp_path)
    claim = (
        "import sys; from headrace_trainer.forkserver import records; records.claim(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", claim, str(lost.records.process)], check=True)

    assert lost.judge().state == "gone"


def test_an_abandoned_execution_is_gone_even_with_its_exit_recorded(tmp_path: Path) -> None:
    killed = execution(tmp_path)
    assert records.claim(str(killed.records.process))
    records.write_exit(str(killed.records.exit), os.getpid(), -9)
    killed.abandon()

    assert killed.judge().state == "gone"


def test_a_rerun_is_the_next_execution_and_drops_the_previous(tmp_path: Path) -> None:
    attempt = Attempt(tmp_path / "attempt-1")
    first = attempt.next_execution(None)
    second = attempt.next_execution(first)

    assert second.number == 2
    assert attempt.latest() == second
    assert not first.folder.exists()


def test_attempt_folders_tell_apart_step_ids_that_look_alike(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)

    def folder(step_id: str) -> Path:
        return ledger.folder(
            StepReady(run_id="run", step_id=step_id, task_name="t", executor={}, component={})
        )

    a, b = folder("root/for-loop-2[1]/x"), folder("root/for-loop-2_1_/x")
    long_a, long_b = folder("root/" + "a" * 300), folder("root/" + "a" * 299 + "b")

    assert a != b
    assert long_a != long_b
    assert len(long_a.parent.name) <= 100
