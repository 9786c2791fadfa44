"""Reading a step's log from the artifact store, wherever its ``log_uri`` points.

A ``file://`` log is read from its folder; an ``s3://`` one through the S3 settings of the
environment (``HEADRACE_S3_ENDPOINT``, ``HEADRACE_S3_ACCESS_KEY``, ``HEADRACE_S3_SECRET_KEY``,
``HEADRACE_S3_SECURE``, ``HEADRACE_S3_REGION``), as the services read them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from headrace_artifacts import ArtifactStore, ArtifactStoreError, open_store
from headrace_contracts import StepView
from headrace_runtime import Settings

from .run_errors import ClientError


def store_for(uri: str) -> tuple[ArtifactStore, str]:
    """A store holding ``uri`` and the key of ``uri`` in it."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        store = open_store(Path(url2pathname(parts.path)).parent.as_uri())
    elif parts.scheme == "s3":
        store = open_store(f"s3://{parts.netloc}", **Settings().s3_options())
    else:
        raise ClientError(f"cannot read log {uri!r}: only file:// and s3:// URIs are supported")
    return store, store.key_for(uri)


def read_log(uri: str, *, what: str) -> str:
    """The text of the log at ``uri``; :class:`ClientError` naming ``what`` if unreadable."""
    try:
        store, key = store_for(uri)
        with store.open_read(key) as reader:
            return reader.read().decode("utf-8", errors="replace")
    except ArtifactStoreError as exc:
        raise ClientError(f"cannot read the log of {what} at {uri}: {exc}") from None


def step_log_or_note(step: StepView, run_id: str) -> str:
    """The step's log, or one line saying why there is none."""
    if not step.log_uri:
        if step.cached:
            return "(no log: the outputs came from the cache)"
        return f"(no log yet: the step is {step.state})"
    try:
        return read_log(step.log_uri, what=f"step {step.step_id!r} of run {run_id!r}")
    except ClientError as exc:
        return f"({exc})"
