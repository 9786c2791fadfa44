"""Artifact keys: the store-relative names of artifacts, and the rules they follow.

A key is a relative POSIX path such as ``runs/42/train/model.pt``. The same key names the same
artifact in every store: a file below the ``file://`` root, or an object (or, for a directory
artifact, every object below ``key/``) in the ``s3://`` bucket. So a key must be canonical and
must not be able to leave the root or the bucket:

* not empty, at most 1024 bytes of UTF-8 (the S3 limit);
* no NUL byte or other control character, no backslash;
* not absolute (no leading ``/``), no empty segment (``a//b``, a trailing ``/``);
* no ``.`` or ``..`` segment;
* no segment starting with ``.headrace-tmp-`` (reserved for writes in progress).

This module is pure: it never touches a file system or the network.
"""

from __future__ import annotations

from .errors import InvalidArtifactKey

__all__ = ["MAX_KEY_BYTES", "RESERVED_PREFIX", "is_reserved_name", "join_key", "validate_key"]

MAX_KEY_BYTES = 1024
RESERVED_PREFIX = ".headrace-tmp-"


def is_reserved_name(name: str) -> bool:
    """Whether a file or folder name is reserved for the store's own temporary entries."""
    return name.startswith(RESERVED_PREFIX)


def validate_key(key: str) -> str:
    """Return ``key`` unchanged when it is a valid artifact key, else raise `InvalidArtifactKey`."""
    if not isinstance(key, str):
        raise InvalidArtifactKey(repr(key), f"a key must be a str, not {type(key).__name__}")
    if not key:
        raise InvalidArtifactKey(key, "the key is empty")
    if "\x00" in key:
        raise InvalidArtifactKey(key, "it contains a NUL byte")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key):
        raise InvalidArtifactKey(key, "it contains a control character")
    if "\\" in key:
        raise InvalidArtifactKey(
            key, "it contains a backslash", fix="separate folders with '/', e.g. 'runs/42/model.pt'"
        )
    if key.startswith("/"):
        raise InvalidArtifactKey(
            key, "it is absolute", fix="drop the leading '/' to make it relative to the store root"
        )
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidArtifactKey(
            key, f"it is longer than {MAX_KEY_BYTES} bytes", fix="use a shorter path"
        )
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


def join_key(*parts: str) -> str:
    """Join key fragments with ``/`` and validate the result (``join_key('runs/1', 'model')``)."""
    return validate_key("/".join(parts))


def _check_segment(key: str, segment: str) -> None:
    if segment == "":
        raise InvalidArtifactKey(
            key,
            "it has an empty path segment ('//' or a trailing '/')",
            fix="write each folder once, without a trailing '/'",
        )
    if segment == "..":
        raise InvalidArtifactKey(
            key,
            "it has a '..' segment, which would escape the store root",
            fix="use a path inside the store, without '..'",
        )
    if segment == ".":
        raise InvalidArtifactKey(key, "it has a '.' segment", fix="remove the './' parts")
    if is_reserved_name(segment):
        raise InvalidArtifactKey(
            key,
            f"segment {segment!r} starts with {RESERVED_PREFIX!r}, which the store reserves "
            "for writes in progress",
            fix="rename that file or folder",
        )
