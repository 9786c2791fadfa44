"""Where a model's files come from: a local path, ``file://``, ``s3://`` or ``models:/``.

Local files are read in place. An ``s3://`` artifact is downloaded once into the cache, in a
folder named by its SHA-256 digest, and found there on the next start or by a second worker
or replica sharing the folder (the download lands in a temporary folder renamed into place,
so concurrent starts never see half a model). ``models:/NAME@ALIAS`` and
``models:/NAME/VERSION`` are resolved by the registry (see `headrace_modelserver.registry`)
to an artifact URI and digest first.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import ModelLoadError

__all__ = ["Fetched", "Resolver", "default_cache_dir", "fetch_model"]

log = logging.getLogger("headrace.modelserver")

Resolver = Callable[[str], tuple[str, str, str]]
"""``models:/...`` to (artifact URI, ``sha256:<hex>`` digest or "", registry version)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    path: Path
    digest: str = ""
    downloaded: bool = False
    version: str = ""
    """The registry's version number, for a ``models:/`` URI."""


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("HEADRACE_MODEL_CACHE"):
        return Path(env["HEADRACE_MODEL_CACHE"])
    home = Path(env.get("HEADRACE_HOME") or Path.home() / ".headrace")
    return home / "model-cache"


def fetch_model(
    uri: str,
    cache_dir: Path,
    *,
    resolve: Resolver | None = None,
    env: Mapping[str, str] | None = None,
) -> Fetched:
    """A local path holding the model ``uri`` names; `ModelLoadError` if there is none."""
    env = os.environ if env is None else env
    digest = version = ""
    if uri.startswith("models:/"):
        if resolve is None:
            raise ModelLoadError(f"{uri} names a registered model, but no registry is configured")
        uri, digest, version = resolve(uri)
    fetched = _fetch(uri, digest, cache_dir, env)
    return replace(fetched, version=version) if version else fetched


def _fetch(uri: str, digest: str, cache_dir: Path, env: Mapping[str, str]) -> Fetched:
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        path = Path(unquote(parts.path) if parts.scheme else uri)
        if not path.exists():
            raise ModelLoadError(f"storage URI {uri} does not exist: check the path")
        return Fetched(path, digest)
    if parts.scheme == "s3":
        return _from_s3(uri, digest, cache_dir, env)
    raise ModelLoadError(
        f"unsupported storage URI {uri!r}: use a path, file:///abs/path, s3://bucket/key or "
        "models:/NAME@ALIAS"
    )


def _from_s3(uri: str, digest: str, cache_dir: Path, env: Mapping[str, str]) -> Fetched:
    # Imported here: the MinIO client costs half a second of every start that needs no S3.
    from headrace_artifacts import ArtifactNotFound, ArtifactStoreError, open_store

    bucket, _, key = uri[len("s3://") :].partition("/")
    name = key.rstrip("/").rsplit("/", 1)[-1]
    if digest:
        cached = _cached(cache_dir, digest, name)
        if cached is not None:
            return Fetched(cached, digest)
    try:
        store = open_store(
            f"s3://{bucket}",
            s3_endpoint=env.get("HEADRACE_S3_ENDPOINT") or None,
            s3_access_key=env.get("HEADRACE_S3_ACCESS_KEY") or None,
            s3_secret_key=env.get("HEADRACE_S3_SECRET_KEY") or None,
            s3_secure=env.get("HEADRACE_S3_SECURE", "").lower() in ("1", "true", "yes"),
            s3_region=env.get("HEADRACE_S3_REGION") or None,
        )
        info = store.stat(key)
        digest = info.digest
        cached = _cached(cache_dir, digest, name)
        if cached is not None:
            return Fetched(cached, digest)
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=cache_dir))
        try:
            store.get(key, staging / name)
            target = cache_dir / info.sha256
            try:
                staging.rename(target)
            except OSError:  # another worker or replica finished first: theirs is the same
                log.info("model %s already cached by another process", uri)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except ArtifactNotFound:
        raise ModelLoadError(
            f"storage URI {uri} does not exist: check the bucket and key"
        ) from None
    except ArtifactStoreError as exc:
        raise ModelLoadError(f"cannot download {uri}: {exc}") from None
    log.info("downloaded %s (%s) into %s", uri, digest, cache_dir)
    return Fetched(cache_dir / info.sha256 / name, digest, downloaded=True)


def _cached(cache_dir: Path, digest: str, name: str) -> Path | None:
    path = cache_dir / digest.removeprefix("sha256:") / name
    return path if path.exists() else None
