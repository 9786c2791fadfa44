"""Headrace artifact store: datasets, models and metrics files addressed by URI.

``file://`` (a local folder, the default) and ``s3://`` (MinIO, SeaweedFS, AWS S3 through
the MinIO client) behind one `ArtifactStore` interface; every transfer is streamed and
digested (SHA-256). Build a store from settings with `open_store`::

    store = open_store("s3://headrace", s3_endpoint="http://minio:9000",
                       s3_access_key=..., s3_secret_key=...)
    info = store.put_dir("out/model", "runs/42/train/model")
    store.get(info.uri, "/tmp/model")
"""

from .digest import CHUNK_SIZE, Digest, dir_digest, hash_file
from .errors import (
    ArtifactNotFound,
    ArtifactStoreError,
    ArtifactStoreUnavailable,
    InvalidArtifactKey,
)
from .factory import default_root_uri, open_store
from .file_store import FileStore, default_root
from .info import ArtifactInfo
from .keys import join_key, validate_key
from .s3_store import S3Store
from .store import ArtifactStore

__all__ = [
    "CHUNK_SIZE",
    "ArtifactInfo",
    "ArtifactNotFound",
    "ArtifactStore",
    "ArtifactStoreError",
    "ArtifactStoreUnavailable",
    "Digest",
    "FileStore",
    "InvalidArtifactKey",
    "S3Store",
    "default_root",
    "default_root_uri",
    "dir_digest",
    "hash_file",
    "join_key",
    "open_store",
    "validate_key",
]
