"""Bad input and failing steps: refused at submission, or the run fails as KFP's would."""

import copy
from pathlib import Path

from kfp import dsl
from kfp.dsl import Dataset, Output, PipelineTaskFinalStatus
from pipeline_harness import Platform, compile_pipeline, states, step


@dsl.component
def fail(code: int) -> None:
    import sys

    print("about to fail", file=sys.stderr)
    sys.exit(code)


@dsl.component
def slow(seconds: float, folder: str, name: str) -> str:
    import os
    import time

    time.sleep(seconds)
    with open(os.path.join(folder, name), "w") as f:
        f.write("done")
    return name


@dsl.component
def report(status: PipelineTaskFinalStatus, folder: str) -> str:
    import os

    with open(os.path.join(folder, "exit-handler"), "w") as f:
        f.write(f"{status.state}|{status.pipeline_task_name}|{status.error_message}")
    return status.state


@dsl.component
def forgets(out: Output[Dataset]) -> None:
    pass


@dsl.component
def echo(s: str) -> str:
    return s


@dsl.component
def flaky(folder: str) -> str:
    import os

    marker = os.path.join(folder, "attempts")
    count = 1
    if os.path.exists(marker):
        with open(marker) as f:
            count = int(f.read()) + 1
    with open(marker, "w") as f:
        f.write(str(count))
    if count < 3:
        raise RuntimeError(f"attempt {count} fails")
    return f"ok after {count}"


@dsl.pipeline
def guarded(folder: str) -> None:
    final = report(folder=folder)
    with dsl.ExitHandler(final):
        fail(code=3)
        slow(seconds=1.0, folder=folder, name="independent")
        later = slow(seconds=0.0, folder=folder, name="first")
        slow(seconds=0.0, folder=folder, name="never").after(later)


async def test_failing_step_fails_the_run_and_exit_handler_runs(
    platform: Platform, tmp_path: Path
) -> None:
    run = await platform.run(guarded, {"folder": str(tmp_path)})
    assert run.state == "FAILED"
    assert run.error.startswith("step 'exit-handler-1/fail' failed: step 'fail' exited with code 3")
    failed = step(run, "exit-handler-1/fail")
    assert failed is not None
    assert failed.exit_code == 3
    assert failed.log_uri
    # the running independent branch was let finish; nothing new started after the failure
    assert (tmp_path / "independent").read_text() == "done"
    assert states(run)["exit-handler-1/slow"] == "SUCCEEDED"
    assert (tmp_path / "exit-handler").read_text().startswith("FAILED|exit-handler-1|")
    assert states(run)["report"] == "SUCCEEDED"


async def test_step_that_writes_no_declared_output_fails(platform: Platform) -> None:
    @dsl.pipeline
    def forgetful() -> None:
        made = forgets()
        echo(s="after").after(made)

    run = await platform.run(forgetful)
    assert run.state == "FAILED"
    forgot = step(run, "forgets")
    assert forgot is not None
    assert forgot.state == "FAILED"
    assert "'out'" in forgot.reason
    assert states(run)["echo"] == "SKIPPED"


async def test_ignore_upstream_failure_still_runs(platform: Platform) -> None:
    @dsl.pipeline
    def tolerant() -> None:
        broken = fail(code=1)
        echo(s="cleanup").after(broken).ignore_upstream_failure()

    run = await platform.run(tolerant)
    assert run.state == "FAILED"
    cleanup = step(run, "echo")
    assert cleanup is not None
    assert cleanup.state == "SUCCEEDED"
    assert cleanup.output_parameters["Output"] == "cleanup"


async def test_retry_policy_retries_with_backoff(platform: Platform, tmp_path: Path) -> None:
    @dsl.pipeline
    def retried(folder: str) -> str:
        return (
            flaky(folder=folder)
            .set_caching_options(False)
            .set_retry(num_retries=3, backoff_duration="1s", backoff_factor=0.2)
            .output
        )

    run = await platform.run(retried, {"folder": str(tmp_path)})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters["Output"] == "ok after 3"
    flaky_step = step(run, "flaky")
    assert flaky_step is not None
    assert flaky_step.attempts == 3


async def test_retries_run_out(platform: Platform) -> None:
    @dsl.pipeline
    def hopeless() -> None:
        fail(code=2).set_retry(num_retries=1, backoff_duration="0s")

    run = await platform.run(hopeless)
    assert run.state == "FAILED"
    failed = step(run, "fail")
    assert failed is not None
    assert failed.attempts == 2
    assert "exited with code 2" in failed.reason


async def test_cancel_stops_running_steps_and_runs_exit_handler(
    platform: Platform, tmp_path: Path
) -> None:
    @dsl.pipeline
    def long(folder: str) -> None:
        final = report(folder=folder)
        with dsl.ExitHandler(final):
            first = slow(seconds=60.0, folder=folder, name="long")
            slow(seconds=0.0, folder=folder, name="after").after(first)

    run_id = await platform.submit(long, {"folder": str(tmp_path)})
    await platform.wait_step(run_id, "exit-handler-1/slow", "RUNNING")
    await platform.cancel(run_id)
    run = await platform.wait(run_id, timeout=30)
    assert run.state == "CANCELLED"
    assert states(run)["exit-handler-1/slow"] == "CANCELLED"
    assert states(run)["exit-handler-1/slow-2"] == "CANCELLED"
    assert not (tmp_path / "long").exists()
    assert (tmp_path / "exit-handler").read_text().startswith("CANCELLED|")


async def test_container_image_is_refused_unless_host_containers_allowed(
    platform: Platform,
) -> None:
    @dsl.container_component
    def shout(word: str, out: dsl.OutputPath(str)):  # type: ignore[no-untyped-def]
        return dsl.ContainerSpec(
            image="alpine:3.19",
            command=["sh", "-c", 'printf "%s!" "$0" > "$1"'],
            args=[word, out],
        )

    @dsl.pipeline
    def shouting() -> str:
        return shout(word="hey").output

    refused = await platform.run(shouting)
    assert refused.state == "FAILED"
    assert "alpine:3.19" in refused.error
    assert "allow_host_containers" in refused.error
    allowed = await platform.run(shouting, allow_host_containers=True)
    assert allowed.state == "SUCCEEDED", allowed.error
    assert allowed.output_parameters["Output"] == "hey!"


async def test_bad_specs_and_arguments_are_rejected_at_submission(
    platform: Platform, tmp_path: Path
) -> None:
    @dsl.pipeline
    def needs(n: int) -> str:
        return echo(s="x").output

    spec = compile_pipeline(needs, tmp_path)
    missing = await platform.run(spec)
    assert missing.state == "REJECTED"
    assert missing.error == (
        "task 'root', parameter 'n': is required and has no default: pass it (CLI: -p n=VALUE)"
    )
    wrong = await platform.run(spec, {"n": "seven"})
    assert wrong.state == "REJECTED"
    assert "parameter 'n': expects NUMBER_INTEGER (int) but got str" in wrong.error

    broken = copy.deepcopy(spec)
    broken["root"]["dag"]["outputs"]["parameters"]["Output"]["valueFromParameter"][
        "outputParameterKey"
    ] = "nope"
    undeclared = await platform.run(broken, {"n": 1})
    assert undeclared.state == "REJECTED"
    assert "reads output parameter 'nope' of task 'echo'" in undeclared.error

    cyclic = copy.deepcopy(spec)
    cyclic["root"]["dag"]["tasks"]["echo"]["dependentTasks"] = ["echo"]
    cycle = await platform.run(cyclic, {"n": 1})
    assert cycle.state == "REJECTED"
    assert "cycle" in cycle.error or "depends on itself" in cycle.error

    garbage = await platform.run({"root": {"dag": {"tasks": 5}}, "schemaVersion": "2.1.0"})
    assert garbage.state == "REJECTED"
    assert "not a valid KFP PipelineSpec" in garbage.error


@dsl.component
def killed() -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


async def test_a_killed_step_fails_the_run_naming_the_signal(platform: Platform) -> None:
    @dsl.pipeline
    def doomed() -> None:
        killed()

    run = await platform.run(doomed)
    assert run.state == "FAILED"
    dead = step(run, "killed")
    assert dead is not None
    assert "SIGKILL" in dead.reason
    assert "SIGKILL" in run.error
