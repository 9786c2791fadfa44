"""Moving artifacts between the store and the step's local paths.

A ``file://`` artifact is used where it lies (no copy): inputs are read in place, and with a
`FileStore` outputs are written straight into the store and only digested afterwards.
Anything else is downloaded into the workdir before the step and uploaded after it.

An output artifact the component returned or moved (its entry in ``executor_output.json``)
is taken as KFP's launcher takes it (``mergeRuntimeArtifacts`` in launcher_v2.go): a
``custom_path`` (``artifact.set_path``) or a local path as ``uri`` (``dsl.get_uri()``,
``artifact.path = ...``) is where the content lies, uploaded to the output's own URI; a URI
in the artifact store becomes the output's URI as it is; its metadata is recorded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from headrace_artifacts import ArtifactInfo, ArtifactNotFound, ArtifactStore, FileStore
from headrace_artifacts import ArtifactStoreError as StoreError
from headrace_contracts import ArtifactRef

from ..errors import OutputError, StepError
from .logs import safe_segment

__all__ = ["METRICS_TYPES", "Staging", "local_path_of"]

METRICS_TYPES = frozenset(
    {"system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics"}
)


def local_path_of(uri: str) -> Path | None:
    """The local path of a ``file://`` URI, else None."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parts.path))


class Staging:
    """Local paths for one execution's artifacts, below ``workdir`` where a copy is needed."""

    def __init__(self, store: ArtifactStore, workdir: Path) -> None:
        self.store = store
        self.workdir = workdir

    def fetch_input(self, name: str, index: int, ref: ArtifactRef) -> Path:
        """A local path holding input artifact ``ref`` (the ``index``-th of input ``name``)."""
        local = local_path_of(ref.uri)
        if local is not None:
            if not local.exists():
                raise StepError(
                    f"reads input artifact '{name}' at {ref.uri}, which does not exist: re-run "
                    "the step that produced it, or check the artifact store root"
                )
            return local
        tail = ref.uri.rstrip("/").rsplit("/", 1)[-1] or name
        target = self.workdir / "inputs" / safe_segment(name) / str(index) / safe_segment(tail)
        try:
            self.store.get(ref.uri, target)
        except ArtifactNotFound:
            raise StepError(
                f"reads input artifact '{name}' at {ref.uri}, which is not in the artifact "
                "store: re-run the step that produced it"
            ) from None
        except StoreError as error:
            raise StepError(f"could not download input artifact '{name}': {error}") from error
        return target

    def in_place(self, ref: ArtifactRef) -> bool:
        """Whether output ``ref`` is written straight into the (file) store."""
        return isinstance(self.store, FileStore) and local_path_of(ref.uri) is not None

    def output_path(self, name: str, ref: ArtifactRef) -> Path:
        """Where the step writes output artifact ``name`` (a file or a folder)."""
        key = self._key(name, ref)
        if self.in_place(ref):
            self.store.delete(key)  # a previous attempt's output
            path = local_path_of(ref.uri)
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            return path
        tail = key.rsplit("/", 1)[-1]
        path = self.workdir / "outputs" / safe_segment(name) / tail
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def store_output(
        self,
        name: str,
        ref: ArtifactRef,
        path: Path,
        schema_title: str,
        metadata: Mapping[str, Any],
    ) -> ArtifactInfo:
        """Upload (or digest in place) what the step wrote at ``path`` for ``name``."""
        if not path.exists() and schema_title in METRICS_TYPES:
            # kfp's Metrics keep their values in metadata and write no file: store them.
            path.write_text(json.dumps(dict(metadata), sort_keys=True), encoding="utf-8")
        if not path.exists():
            raise OutputError(
                f"declares output artifact '{name}' but did not write it (expected a file or "
                f"folder at {path}): write to the output's .path in the component"
            )
        if path.is_dir() and not any(files for _, _, files in os.walk(path)):
            raise OutputError(
                f"wrote output artifact '{name}' as an empty folder at {path}: write at least "
                "one file into it (object stores have no empty folders)"
            )
        key = self._key(name, ref)
        try:
            if self.in_place(ref) and path == local_path_of(ref.uri):
                return self.store.stat(key)
            if path.is_dir():
                return self.store.put_dir(path, key)
            return self.store.put_file(path, key)
        except StoreError as error:
            raise OutputError(f"could not store output artifact '{name}': {error}") from error

    def store_returned(
        self,
        name: str,
        ref: ArtifactRef,
        path: Path,
        returned: Mapping[str, Any],
        schema_title: str,
    ) -> ArtifactInfo:
        """Store output ``name`` as the executor output reports it (``returned``: its
        RuntimeArtifact there, or empty), else from ``path`` where it was to be written."""
        metadata = returned.get("metadata") or {}
        custom = str(returned.get("custom_path") or returned.get("customPath") or "")
        uri = str(returned.get("uri") or "")
        if custom:
            return self.store_output(name, ref, Path(custom), schema_title, metadata)
        if not uri or uri == str(path):
            return self.store_output(name, ref, path, schema_title, metadata)
        local = Path(uri) if uri.startswith("/") else local_path_of(uri)
        if local is not None and not self._in_store(uri):
            return self.store_output(name, ref, local, schema_title, metadata)
        return self._existing(name, uri)

    def _in_store(self, uri: str) -> bool:
        try:
            self.store.key_for(uri)
        except StoreError:
            return False
        return True

    def _existing(self, name: str, uri: str) -> ArtifactInfo:
        """An output the component returned at ``uri`` in the store, recorded where it is."""
        try:
            return self.store.stat(self.store.key_for(uri))
        except ArtifactNotFound:
            raise OutputError(
                f"returned output artifact '{name}' at {uri}, which does not exist: write "
                "its content to the artifact's .path before returning it"
            ) from None
        except StoreError as error:
            raise OutputError(
                f"returned output artifact '{name}' at {uri}, which is not in this launcher's "
                f"artifact store ({self.store.root_uri}): create it with "
                f"{name!r} = Artifact(uri=dsl.get_uri()) or write to its .path ({error})"
            ) from error

    def store_log(self, log_path: Path, key: str) -> str:
        """Upload the step log under ``key`` (an empty one when the step wrote none).

        Not flushed to disk before the step's outcome goes out: an fsync costs milliseconds
        per step, and a log is what a crash of the machine may shorten (output artifacts
        written in place are not flushed either)."""
        log_path.touch()
        return self.store.put_file(log_path, key, sync=False).uri

    def _key(self, name: str, ref: ArtifactRef) -> str:
        try:
            return self.store.key_for(ref.uri)
        except StoreError as error:
            raise StepError(
                f"writes output artifact '{name}' to {ref.uri}, which is not in this launcher's "
                f"artifact store ({self.store.root_uri}): give the scheduler and the trainer "
                f"the same HEADRACE_ARTIFACTS root ({error})"
            ) from error
