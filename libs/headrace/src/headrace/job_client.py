"""The client's training-job calls (mixed into :class:`headrace.Client`).

::

    with Client() as client:
        (job,) = client.apply("examples/training/ddp/pytorchjob.yaml")
        done = client.wait_job(job.name, timeout=600)
        for chunk in client.job_logs(job.name, follow=True):
            print(chunk, end="")

``apply`` checks the YAML here first (every problem, with its document and path), sends one
``SubmitTrainingJob`` per job with the manifest's folder as ``working_dir``, and waits for
the trainer's answer event (``TrainingJobCreated``, or ``TrainingJobFailed`` with the
reason), then reads the recorded job once. Questions are request/reply queries to the
trainer. Logs are read from the artifact store, where the trainer copies each replica's log
while it runs, so they can be followed from any machine that reaches the store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from headrace_artifacts import ArtifactStoreError
from headrace_bus import Bus
from headrace_contracts import (
    CancelTrainingJob,
    GetTrainingJob,
    ListTrainingJobs,
    Message,
    Query,
    ResumeTrainingJob,
    SubmitTrainingJob,
    SuspendTrainingJob,
    TrainingJobCreated,
    TrainingJobDetail,
    TrainingJobFailed,
    TrainingJobList,
    TrainingJobView,
)
from headrace_contracts.kubeflow import (
    ExperimentSpec,
    ManifestError,
    TrainingJobSpec,
    load_manifests,
    load_training_jobs,
    manifest_digest,
    parse_manifest,
)
from headrace_contracts.training_views import TRAINING_JOB_STATES

from .experiment_client import AppliedExperiment
from .job_errors import JobExistsError, JobNotFound, JobTimeout, ManifestRejected, TrainingJobError
from .recorded import recorded_after_answer

__all__ = ["FINAL_JOB_STATES", "Applied", "TrainingJobCalls", "read_documents", "read_manifests"]

T = TypeVar("T")
FINAL_JOB_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
FOLLOW_SECONDS = 0.5


class Applied:
    """One applied job: its view, and whether it was ``created`` or left ``unchanged``."""

    def __init__(self, job: TrainingJobView, spec: TrainingJobSpec, created: bool) -> None:
        self.job = job
        self.spec = spec
        self.created = created

    @property
    def resource(self) -> str:
        group = self.spec.api_version.split("/")[0]
        return f"{self.spec.kind.lower()}.{group}/{self.spec.name}"


def read_manifests(
    source: str | Path, namespace: str = "default"
) -> tuple[list[tuple[dict[str, Any], TrainingJobSpec]], str]:
    """The jobs of a YAML file (or ``-``-less text given as a str that is no file), each as
    its JSON-ready document and its spec, and the folder they run in ("" for text).
    `ManifestRejected` lists every problem."""
    jobs, _, folder = read_documents(source, namespace, experiments=False)
    return jobs, folder


def read_documents(
    source: str | Path, namespace: str = "default", *, experiments: bool = True
) -> tuple[
    list[tuple[dict[str, Any], TrainingJobSpec]],
    list[tuple[dict[str, Any], ExperimentSpec]],
    str,
]:
    """`read_manifests`, with the Katib Experiments of the file beside the jobs (what
    ``headrace apply`` takes) unless ``experiments`` is False."""
    path = Path(source)
    where = str(source)
    if isinstance(source, Path) or ("\n" not in where and path.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            why = f"cannot be read ({error.strerror}): check the path"
            raise ManifestRejected(where, why) from None
        folder = str(path.resolve().parent)
    else:
        text, where, folder = str(source), "the YAML", ""
    try:
        (load_manifests if experiments else load_training_jobs)(text)
        documents = [doc for doc in yaml.safe_load_all(text)]
    except ManifestError as error:
        raise ManifestRejected(where, str(error), error.problems) from None
    jobs = []
    found_experiments = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        document = json.loads(json.dumps(document, default=str))
        metadata = document.setdefault("metadata", {})
        given = metadata.get("namespace")
        if given and given != namespace and namespace != "default":
            raise ManifestRejected(
                where,
                f"document {index}, metadata.namespace is {given!r} but --namespace is "
                f"{namespace!r}: make them agree, or leave one out",
            )
        metadata["namespace"] = given or namespace
        try:
            spec = parse_manifest(document, index)
        except ManifestError as error:
            raise ManifestRejected(where, str(error), error.problems) from None
        if isinstance(spec, ExperimentSpec):
            found_experiments.append((document, spec))
        else:
            jobs.append((document, spec))
    return jobs, found_experiments, folder


class TrainingJobCalls:
    """Training-job calls of :class:`headrace.Client`; they need its loop and bus."""

    submit_timeout: float

    if TYPE_CHECKING:
        nats_url: str
        timeout: float

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...
        async def _publish(self, message: Message) -> None: ...
        async def _ask(self, query: Query, who: str = ...) -> Any: ...
        async def _connected(self) -> Bus: ...
        def apply_experiments(
            self,
            experiments: list[tuple[dict[str, Any], ExperimentSpec]],
            folder: str,
            *,
            run_id: str = "",
            step_id: str = "",
        ) -> list[AppliedExperiment]: ...

    # commands --------------------------------------------------------------------------

    def apply(
        self, source: str | Path, *, namespace: str = "default"
    ) -> list[Applied | AppliedExperiment]:
        """Create the jobs and Katib Experiments of a YAML file (one or many documents); a
        job whose name exists with the same spec is left as it is, one with another spec is
        refused (`JobExistsError`), before anything is sent; experiments likewise."""
        jobs, experiments, folder = read_documents(source, namespace)
        applied: list[Applied | AppliedExperiment] = []
        applied.extend(self.apply_documents(jobs, folder))
        if experiments:
            applied.extend(self.apply_experiments(experiments, folder))
        return applied

    def apply_documents(
        self,
        jobs: list[tuple[dict[str, Any], TrainingJobSpec]],
        folder: str,
        *,
        run_id: str = "",
        step_id: str = "",
    ) -> list[Applied]:
        """`apply` for documents `read_manifests` returned; ``run_id`` and ``step_id`` link
        the jobs to the pipeline step that launches them (`headrace.training.run_job`)."""
        known: list[tuple[dict[str, Any], TrainingJobSpec, TrainingJobView | None]] = []
        for document, spec in jobs:
            found = self._find_job(spec.name, spec.namespace)
            if found is not None and found.spec_digest != manifest_digest(document, folder):
                raise JobExistsError(spec.name, spec.namespace, found.state)
            known.append((document, spec, found))
        applied = []
        for document, spec, found in known:
            if found is not None:
                applied.append(Applied(found, spec, created=False))
                continue
            command = SubmitTrainingJob(
                job_id=f"{spec.namespace}/{spec.name}",
                kind=spec.kind,
                manifest=document,
                namespace=spec.namespace,
                working_dir=folder,
                run_id=run_id,
                step_id=step_id,
            )
            applied.append(Applied(self._submitted(command, spec), spec, created=True))
        return applied

    def delete_job(self, name: str, *, namespace: str = "default") -> TrainingJobView:
        """Stop every replica of the job and remove it; returns the job as it was."""
        job = self.get_job(name, namespace=namespace)
        self._call(self._publish(CancelTrainingJob(job_id=job.job_id, reason="deleted by user")))
        return job

    def suspend_job(self, name: str, *, namespace: str = "default") -> TrainingJobView:
        job = self.get_job(name, namespace=namespace)
        self._call(self._publish(SuspendTrainingJob(job_id=job.job_id, namespace=namespace)))
        return job

    def resume_job(self, name: str, *, namespace: str = "default") -> TrainingJobView:
        job = self.get_job(name, namespace=namespace)
        self._call(self._publish(ResumeTrainingJob(job_id=job.job_id, namespace=namespace)))
        return job

    # questions -------------------------------------------------------------------------

    def get_job(self, name: str, *, namespace: str = "default") -> TrainingJobView:
        """The job with its replicas, conditions and metrics; `JobNotFound` if none."""
        found = self._find_job(name, namespace)
        if found is None:
            raise JobNotFound(name, namespace)
        return found

    def list_jobs(
        self, *, namespace: str = "default", state: str = "", limit: int = 100
    ) -> list[TrainingJobView]:
        """Jobs of ``namespace`` (every namespace: ``""``), newest first."""
        if state and state.upper() not in TRAINING_JOB_STATES:
            raise TrainingJobError(
                f"unknown job state {state!r}: one of {', '.join(TRAINING_JOB_STATES)}"
            )
        query = ListTrainingJobs(namespace=namespace, state=state.upper(), limit=limit)
        reply = self._call(self._ask(query, who="the trainer"))
        assert isinstance(reply, TrainingJobList)
        if reply.error:
            raise TrainingJobError(reply.error)
        return list(reply.jobs)

    def wait_job(
        self, name: str, *, namespace: str = "default", timeout: float | None = None
    ) -> TrainingJobView:
        """Until the job has ended (SUCCEEDED or FAILED), polling."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_job(name, namespace=namespace)
            if job.state in FINAL_JOB_STATES:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise JobTimeout(name, job.state, timeout or 0.0)
            time.sleep(0.2)

    def job_logs(
        self,
        name: str,
        *,
        replica: str = "",
        follow: bool = False,
        namespace: str = "default",
    ) -> Iterator[str]:
        """The replica's log (default: the job's first replica, e.g. ``master-0``) in
        chunks; with ``follow``, new output as the trainer stores it, until the job ends.
        A whole-gang restart goes on with the new attempt's log after a marker line."""
        from .run_logs import store_for

        uri, offset = "", 0
        while True:
            job = self.get_job(name, namespace=namespace)
            found = _replica(job, replica)
            ended = job.state in FINAL_JOB_STATES or job.state == "SUSPENDED"
            if found.log_uri != uri:
                if uri:
                    yield f"--- {found.role}-{found.index}: attempt {found.attempt} ---\n"
                uri, offset = found.log_uri, 0
            text = ""
            if uri:
                try:
                    store, key = store_for(uri)
                    with store.open_read(key) as reader:
                        data = reader.read()[offset:]
                    offset += len(data)
                    text = data.decode("utf-8", errors="replace")
                except (ArtifactStoreError, OSError):
                    text = ""  # not stored yet
            if text:
                yield text
            if not follow or ended:  # what it wrote before ending was read just now
                return
            time.sleep(FOLLOW_SECONDS)

    # helpers ---------------------------------------------------------------------------

    def _find_job(self, name: str, namespace: str) -> TrainingJobView | None:
        reply = self._call(
            self._ask(GetTrainingJob(name=name, namespace=namespace), who="the trainer")
        )
        assert isinstance(reply, TrainingJobDetail)
        if reply.error:
            raise TrainingJobError(reply.error)
        return reply.job

    def _submitted(self, command: SubmitTrainingJob, spec: TrainingJobSpec) -> TrainingJobView:
        """Send ``command``, wait for the trainer's answer, and read the job it recorded."""
        return recorded_after_answer(
            self,
            command,
            (TrainingJobCreated, TrainingJobFailed),
            field="job_id",
            find=lambda: self._find_job(spec.name, spec.namespace),
            refused=lambda: TrainingJobError(
                f"training job {spec.name!r} was sent, but the trainer did not record it "
                f"within {self.submit_timeout:g}s: it may be busy; look for it later with "
                f"`headrace job get {spec.name}`"
            ),
        )


def _replica(job: TrainingJobView, name: str) -> Any:
    if not job.replicas:
        raise TrainingJobError(
            f"training job {job.name!r} has no replicas yet (it is {job.state}): try again once "
            "it runs"
        )
    if not name:
        return job.replicas[0]
    for replica in job.replicas:
        if f"{replica.role}-{replica.index}" == name:
            return replica
    known = ", ".join(f"{r.role}-{r.index}" for r in job.replicas)
    raise TrainingJobError(
        f"training job {job.name!r} has no replica {name!r} (its replicas: {known}): give "
        "--replica ROLE-INDEX"
    )
