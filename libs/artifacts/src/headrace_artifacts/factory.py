"""Building a store from settings: the root URI picks the backend.

``file:///abs/path``       `FileStore` rooted at that folder (``default_root_uri()`` is the
                           Headrace home's ``artifacts`` folder)
``s3://bucket[/prefix]``   `S3Store` through a MinIO client for ``s3_endpoint`` (MinIO,
                           SeaweedFS, ...; AWS S3 when no endpoint is given)

Nothing connects here: the S3 bucket is checked and created on the first write.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from minio import Minio
from minio.credentials.providers import (
    ChainedProvider,
    EnvAWSProvider,
    EnvMinioProvider,
    IamAwsProvider,
)

from .errors import ArtifactStoreError
from .file_store import FileStore, default_root
from .s3_store import S3Store
from .store import ArtifactStore, StrPath

__all__ = ["default_root_uri", "open_store"]

AWS_ENDPOINT = "s3.amazonaws.com"


def default_root_uri(home: StrPath | None = None) -> str:
    """``file://`` URI of the default artifact folder (see `default_root`)."""
    return Path(default_root(home)).absolute().as_uri()


def open_store(
    root_uri: str,
    *,
    s3_endpoint: str | None = None,
    s3_access_key: str | None = None,
    s3_secret_key: str | None = None,
    s3_secure: bool = True,
    s3_region: str | None = None,
) -> ArtifactStore:
    """Open the artifact store at ``root_uri``; the ``s3_*`` settings apply to ``s3://``.

    ``s3_endpoint`` is ``host:port`` (TLS as ``s3_secure`` says) or a ``http://`` /
    ``https://`` URL (the scheme decides). Without keys, credentials come from the
    environment (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``MINIO_ACCESS_KEY``/
    ``MINIO_SECRET_KEY``) or the AWS instance role.
    """
    scheme = urlsplit(root_uri).scheme
    if scheme == "file":
        return FileStore(_file_root(root_uri))
    if scheme == "s3":
        bucket, _, prefix = root_uri[len("s3://") :].partition("/")
        endpoint, secure = _endpoint(s3_endpoint, s3_secure)
        client = _client(endpoint, secure, s3_access_key, s3_secret_key, s3_region)
        return S3Store(client, bucket, prefix, endpoint=endpoint, region=s3_region)
    raise ArtifactStoreError(
        f"unsupported artifact root {root_uri!r}: use file:///absolute/folder or "
        "s3://bucket[/prefix]"
    )


def _file_root(root_uri: str) -> Path:
    parts = urlsplit(root_uri)
    path = url2pathname(parts.path)
    if parts.netloc not in ("", "localhost") or not Path(path).is_absolute():
        raise ArtifactStoreError(
            f"artifact root {root_uri!r} is not a local absolute path: write "
            "file:///absolute/folder (three slashes)"
        )
    return Path(path)


def _endpoint(endpoint: str | None, secure: bool) -> tuple[str, bool]:
    if endpoint is None:
        return AWS_ENDPOINT, secure
    if "://" not in endpoint:
        return endpoint.rstrip("/"), secure
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ArtifactStoreError(
            f"S3 endpoint {endpoint!r} is not host:port or http(s)://host:port (no path)"
        )
    return parts.netloc, parts.scheme == "https"


def _client(
    endpoint: str,
    secure: bool,
    access_key: str | None,
    secret_key: str | None,
    region: str | None,
) -> Minio:
    if (access_key is None) != (secret_key is None):
        raise ArtifactStoreError(
            "S3 settings give only one of the access key and the secret key: give both, or "
            "neither to use the environment's credentials"
        )
    try:
        if access_key is not None and secret_key is not None:
            return Minio(endpoint, access_key, secret_key, secure=secure, region=region)
        chain = ChainedProvider([EnvAWSProvider(), EnvMinioProvider(), IamAwsProvider()])
        return Minio(endpoint, secure=secure, region=region, credentials=chain)
    except ValueError as error:
        raise ArtifactStoreError(f"invalid S3 endpoint {endpoint!r}: {error}") from error
