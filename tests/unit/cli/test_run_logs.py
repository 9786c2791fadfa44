"""Reading a step's log from a file:// URI, and the notes shown for steps without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.run_errors import ClientError
from headrace.run_logs import read_log, step_log_or_note
from headrace_contracts import StepView


def test_a_file_log_is_read(tmp_path: Path) -> None:
    log = tmp_path / "runs" / "r1" / "add" / "log.txt"
    log.parent.mkdir(parents=True)
    log.write_bytes("héllo\n".encode())
    assert read_log(log.as_uri(), what="step 'add'") == "héllo\n"


def test_a_missing_file_log_names_the_step(tmp_path: Path) -> None:
    uri = (tmp_path / "gone.txt").as_uri()
    with pytest.raises(ClientError, match=f"cannot read the log of step 'add' at {uri}"):
        read_log(uri, what="step 'add'")


def test_another_scheme_is_refused() -> None:
    with pytest.raises(ClientError, match="only file:// and s3:// URIs are supported"):
        read_log("http://example.com/log.txt", what="step 'add'")


@pytest.mark.parametrize(
    ("cached", "state", "note"),
    [
        (True, "CACHED", "(no log: the outputs came from the cache)"),
        (False, "READY", "(no log yet: the step is READY)"),
    ],
)
def test_a_step_without_a_log_gets_a_note(cached: bool, state: str, note: str) -> None:
    step = StepView(step_id="add", task_name="add", kind="container", state=state, cached=cached)
    assert step_log_or_note(step, "r1") == note
