"""The exception line a failed Python step's reason carries (pure)."""

from headrace_trainer.executor.logs import exception_line

TRACEBACK = """starting
Traceback (most recent call last):
  File "/tmp/x/ephemeral_component.py", line 5, in train
    run_job(manifest)
    ^^^^^^^^^^^^^^^^^
headrace.job_errors.JobFailedError: training job 'default/tiny' failed (Failed, exit code 3)
its last log lines:
rank 1: the loss is nan
"""


def test_the_last_tracebacks_exception_without_its_module() -> None:
    assert exception_line(TRACEBACK) == (
        "JobFailedError: training job 'default/tiny' failed (Failed, exit code 3)"
    )


def test_a_chained_exception_gives_the_last_one() -> None:
    chained = (
        "Traceback (most recent call last):\n  File 'a', line 1\nKeyError: 'x'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n  File 'b', line 2\nValueError: bad value\n"
    )
    assert exception_line(chained) == "ValueError: bad value"


def test_an_exception_without_a_message() -> None:
    text = "Traceback (most recent call last):\n  File 'a'\nKeyboardInterrupt\n"
    assert exception_line(text) == "KeyboardInterrupt"


def test_no_traceback_gives_nothing() -> None:
    assert exception_line("about to fail\n") == ""
    assert exception_line("") == ""
