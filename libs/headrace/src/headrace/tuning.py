"""Run a Katib experiment from inside a pipeline step and wait for it, so ``tune -> train ->
evaluate -> register`` is one pipeline::

    @dsl.component
    def tune(model: dsl.Output[dsl.Model]) -> dict:
        from headrace.tuning import run_experiment

        done = run_experiment("/experiments/tune.yaml", model.path, timeout=3600)
        return done.best_trial.parameters

`run_experiment` creates the experiment on the platform's bus, linked to the run and step
it runs in (its name gets a digest of the run, step and attempt, as `run_job` does for
jobs), waits for its end, and copies what the best trial's job wrote to its
``HEADRACE_OUTPUT_DIR`` into ``output``. A failed experiment raises `ExperimentFailedError`
with its reason, and so does one stopped (`headrace experiment stop`); ended by SIGTERM (the
run cancelled, the step timed out) or by any error while it waits, it deletes the
experiment, which stops its trials.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from headrace_contracts import ExperimentView

from .experiment_client import FINAL_EXPERIMENT_STATES
from .experiment_errors import (
    ExperimentError,
    ExperimentFailedError,
    ExperimentNotFound,
    ExperimentTimeout,
)
from .job_client import read_documents
from .job_errors import TrainingJobError
from .training import _copy_output, _terminate_on_sigterm, job_name_in_step

if TYPE_CHECKING:
    from .client import Client

__all__ = ["run_experiment"]

POLL_SECONDS = 0.25


def run_experiment(
    manifest: str | os.PathLike[str] | dict[str, Any],
    output: str | os.PathLike[str] | None = None,
    *,
    namespace: str = "default",
    timeout: float | None = None,
    client: Client | None = None,
) -> ExperimentView:
    """Run one Katib Experiment (a YAML file, YAML or JSON text, or a dict) to its end and return it
    (``best_trial`` has the best parameters). ``output``: a folder to receive the best
    trial's ``HEADRACE_OUTPUT_DIR`` files. Raises `ExperimentFailedError` when it fails, is
    stopped or is deleted, `ExperimentTimeout` after ``timeout`` seconds (it is deleted then),
    `ManifestRejected` for a document that cannot be an experiment."""
    document, folder = _one_experiment(manifest, namespace)
    run_id = os.environ.get("HEADRACE_RUN_ID", "")
    step_id = os.environ.get("HEADRACE_STEP_ID", "")
    metadata = document["metadata"]
    metadata["name"] = job_name_in_step(
        str(metadata.get("name", "")), run_id, step_id, os.environ.get("HEADRACE_STEP_ATTEMPT", "1")
    )
    _, experiments, _ = read_documents(yaml.safe_dump(document, sort_keys=False), namespace)
    owned = client is None
    if client is None:
        from .client import Client

        client = Client(nats_url=os.environ.get("HEADRACE_NATS_URL") or None)
    try:
        (applied,) = client.apply_experiments(experiments, folder, run_id=run_id, step_id=step_id)
        found = applied.experiment
        where = f" for run {run_id} step {step_id}" if run_id else ""
        print(f"experiment {found.namespace}/{found.name} created{where}", flush=True)
        found = _wait(client, found, timeout)
        if output is not None:
            _copy_best(client, found, Path(output))
        return found
    finally:
        if owned:
            client.close()


def _one_experiment(
    manifest: str | os.PathLike[str] | dict[str, Any], namespace: str
) -> tuple[dict[str, Any], str]:
    if isinstance(manifest, dict):
        source: str | Path = yaml.safe_dump(manifest, sort_keys=False)
    elif isinstance(manifest, os.PathLike) or not (
        "\n" in manifest or manifest.lstrip().startswith("{")
    ):
        source = Path(manifest)  # a file; YAML text has lines, JSON text is an object
    else:
        source = manifest
    jobs, experiments, folder = read_documents(source, namespace)
    if jobs or len(experiments) != 1:
        raise ExperimentError(
            f"run_experiment runs one Katib Experiment, but the manifest holds {len(experiments)} "
            f"experiment(s) and {len(jobs)} job(s): give it one Experiment document"
        )
    return experiments[0][0], folder or os.getcwd()


def _wait(client: Client, found: ExperimentView, timeout: float | None) -> ExperimentView:
    """Until the experiment ends (polled without its trials; the last view has them); it is
    deleted when the wait ends any other way."""
    deadline = None if timeout is None else time.monotonic() + timeout
    ended = False
    try:
        with _terminate_on_sigterm():
            while found.state not in FINAL_EXPERIMENT_STATES:
                if deadline is not None and time.monotonic() > deadline:
                    raise ExperimentTimeout(found.name, found.state, timeout or 0.0)
                time.sleep(POLL_SECONDS)
                try:
                    found = client.get_experiment(
                        found.name, namespace=found.namespace, trials=False
                    )
                except ExperimentNotFound:
                    ended = True
                    raise ExperimentFailedError(
                        found, "was deleted while the step waited for it"
                    ) from None
        ended = True
        found = client.get_experiment(found.name, namespace=found.namespace)  # with its trials
    finally:
        if not ended:
            with contextlib.suppress(ExperimentError):
                client.delete_experiment(found.name, namespace=found.namespace)
                print(f"experiment {found.namespace}/{found.name} deleted", flush=True)
    if found.state == "FAILED":
        raise ExperimentFailedError(found, f"failed ({found.reason}): {found.message}")
    if found.state == "STOPPED":
        raise ExperimentFailedError(found, f"was stopped before its end: {found.message}")
    return found


def _copy_best(client: Client, found: ExperimentView, target: Path) -> None:
    best = found.best_trial
    if best is None:
        raise ExperimentError(
            f"experiment '{found.namespace}/{found.name}' has no single best trial (it has "
            f"{len(found.pareto_front)} on its Pareto front): call run_experiment without output"
        )
    job = client.get_job(best.name, namespace=found.namespace)
    try:
        _copy_output(job, target)
    except TrainingJobError as error:
        raise ExperimentError(f"the best trial {best.name}: {error}") from None
