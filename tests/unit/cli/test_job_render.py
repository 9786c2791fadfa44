"""`headrace job get` shows the run and step that launched a job (pure)."""

from headrace.job_render import render_job
from headrace_contracts import TrainingJobView


def test_a_job_launched_by_a_step_names_its_run_and_step() -> None:
    job = TrainingJobView(job_id="default/tiny", name="tiny", run_id="run-1", step_id="train")
    assert "Run:        run-1 (step train)" in render_job(job).splitlines()


def test_a_job_applied_by_hand_has_no_run_line() -> None:
    job = TrainingJobView(job_id="default/tiny", name="tiny")
    assert not any(line.startswith("Run:") for line in render_job(job).splitlines())
