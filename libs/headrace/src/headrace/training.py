"""Launch a training job from inside a pipeline step and wait for it (the Kubeflow way: a
launcher component that submits a PyTorchJob and waits)::

    @dsl.component
    def train(model: dsl.Output[dsl.Model]):
        from headrace.training import run_job

        run_job("/manifests/pytorchjob.yaml", model.path, timeout=3600)

`run_job` submits the job on the platform's bus, linked to the run and step it runs in
(``HEADRACE_RUN_ID`` / ``HEADRACE_STEP_ID``, which the trainer gives every step), waits for
its end, and copies what the job wrote to ``HEADRACE_OUTPUT_DIR`` into ``output`` (the
step's output artifact, which then holds the job's files as a directory). A failed job
raises `JobFailedError` (reason, exit code, log tail), so the step fails with it. Ended by
SIGTERM (the run cancelled, the step timed out) or by any error while it waits, it deletes
the job: nothing is left running.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import yaml

from headrace_artifacts import ArtifactStoreError
from headrace_contracts import TrainingJobView

from .job_client import FINAL_JOB_STATES, read_manifests
from .job_errors import JobFailedError, JobNotFound, JobTimeout, TrainingJobError

if TYPE_CHECKING:
    from .client import Client

__all__ = ["StepTerminated", "job_name_in_step", "run_job"]

POLL_SECONDS = 0.25
NAME_LIMIT = 63


class StepTerminated(BaseException):
    """The step process was told to stop (SIGTERM) while it waited for its job."""


def job_name_in_step(name: str, run_id: str, step_id: str, attempt: str) -> str:
    """The job's name when a step launches it: ``name`` and a digest of the run, step and
    attempt, so runs, loop iterations and retries of one pipeline never share a job."""
    if not run_id:
        return name
    digest = hashlib.sha256(f"{run_id}/{step_id}/{attempt}".encode()).hexdigest()[:8]
    return f"{name[: NAME_LIMIT - len(digest) - 1].rstrip('-')}-{digest}"


def run_job(
    manifest: str | os.PathLike[str] | dict[str, Any],
    output: str | os.PathLike[str] | None = None,
    *,
    namespace: str = "default",
    timeout: float | None = None,
    client: Client | None = None,
) -> TrainingJobView:
    """Run one training job (a Kubeflow PyTorchJob, TFJob or TrainJob given as a YAML file,
    YAML text or a dict) to its end and return it. ``output``: a folder to receive the
    job's ``HEADRACE_OUTPUT_DIR`` files (a step's ``dsl.Output[Model]`` path). Raises
    `JobFailedError` when the job fails or is deleted, `JobTimeout` after ``timeout``
    seconds (the job is deleted then), `ManifestRejected` for a manifest that cannot be a
    job."""
    document, folder = _one_document(manifest, namespace)
    run_id = os.environ.get("HEADRACE_RUN_ID", "")
    step_id = os.environ.get("HEADRACE_STEP_ID", "")
    metadata = document["metadata"]
    metadata["name"] = job_name_in_step(
        str(metadata.get("name", "")),
        run_id,
        step_id,
        os.environ.get("HEADRACE_STEP_ATTEMPT", "1"),
    )
    jobs, _ = read_manifests(yaml.safe_dump(document, sort_keys=False), namespace)
    owned = client is None
    if client is None:
        from .client import Client

        client = Client(nats_url=os.environ.get("HEADRACE_NATS_URL") or None)
    try:
        (applied,) = client.apply_documents(jobs, folder, run_id=run_id, step_id=step_id)
        job = applied.job
        where = f" for run {run_id} step {step_id}" if run_id else ""
        print(f"training job {job.namespace}/{job.name} submitted{where}", flush=True)
        job = _wait(client, job, timeout)
        if output is not None:
            _copy_output(job, Path(output))
        return job
    finally:
        if owned:
            client.close()


def _one_document(
    manifest: str | os.PathLike[str] | dict[str, Any], namespace: str
) -> tuple[dict[str, Any], str]:
    if isinstance(manifest, dict):
        source: str | Path = yaml.safe_dump(manifest, sort_keys=False)
    elif isinstance(manifest, os.PathLike) or "\n" not in manifest:
        source = Path(manifest)
    else:
        source = manifest
    jobs, folder = read_manifests(source, namespace)
    if len(jobs) != 1:
        raise TrainingJobError(
            f"run_job runs one training job, but the manifest holds {len(jobs)}: give it one "
            "document (call run_job once per job)"
        )
    return jobs[0][0], folder or os.getcwd()


def _wait(client: Client, job: TrainingJobView, timeout: float | None) -> TrainingJobView:
    """Until the job ends; the job is deleted when the wait ends any other way."""
    deadline = None if timeout is None else time.monotonic() + timeout
    ended = False
    try:
        with _terminate_on_sigterm():
            while job.state not in FINAL_JOB_STATES:
                if deadline is not None and time.monotonic() > deadline:
                    raise JobTimeout(job.name, job.state, timeout or 0.0)
                time.sleep(POLL_SECONDS)
                try:
                    job = client.get_job(job.name, namespace=job.namespace)
                except JobNotFound:
                    ended = True
                    raise JobFailedError(job, "was deleted while the step waited for it") from None
        ended = True
    finally:
        if not ended:
            with contextlib.suppress(TrainingJobError):
                client.delete_job(job.name, namespace=job.namespace)
                print(f"training job {job.namespace}/{job.name} deleted", flush=True)
    if job.state == "SUCCEEDED":
        return job
    if job.state == "CANCELLED":
        raise JobFailedError(job, "was deleted while the step waited for it")
    failed = next((c for c in job.conditions if c.type == "Failed"), None)
    code = "" if job.exit_code is None else f", exit code {job.exit_code}"
    why = f"failed ({job.reason or 'Failed'}{code})"
    if failed is not None and failed.message:
        why += f": {failed.message}"
    raise JobFailedError(job, why)


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """SIGTERM raises `StepTerminated` in the waiting thread, so the wait's cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise StepTerminated(f"the step received signal {signum} while its job ran")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _copy_output(job: TrainingJobView, target: Path) -> None:
    from .run_logs import store_for

    if not job.output_uri:
        raise TrainingJobError(
            f"training job '{job.namespace}/{job.name}' succeeded but wrote nothing to its "
            "HEADRACE_OUTPUT_DIR, so the step has no model to keep: make the job write its "
            "model there, or call run_job without output"
        )
    try:
        store, key = store_for(job.output_uri)
        store.get_dir(key, target)
    except ArtifactStoreError as error:
        raise TrainingJobError(
            f"the output of training job '{job.namespace}/{job.name}' ({job.output_uri}) "
            f"could not be copied to {target}: {error}"
        ) from None
