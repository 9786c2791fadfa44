"""Artifact key validation: pure rules, one test per way a key can be wrong."""

from __future__ import annotations

import pytest

from headrace_artifacts import ArtifactStoreError, InvalidArtifactKey, join_key, validate_key
from headrace_artifacts.keys import MAX_KEY_BYTES, is_reserved_name


@pytest.mark.parametrize(
    "key",
    [
        "model.pt",
        "runs/42/train/model.pt",
        "with space/ünïcode.txt",
        ".hidden/file",
        "a..b/c...d",
        "x" * MAX_KEY_BYTES,
    ],
)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "the key is empty"),
        ("a\x00b", "NUL byte"),
        ("a\nb", "control character"),
        ("a\tb", "control character"),
        ("a\\b", "backslash"),
        ("..\\evil", "backslash"),
        ("/etc/passwd", "absolute"),
        ("//server/share", "absolute"),
        ("..", "'..' segment"),
        ("../escape", "'..' segment"),
        ("a/../../escape", "'..' segment"),
        ("a/..", "'..' segment"),
        (".", "'.' segment"),
        ("./a", "'.' segment"),
        ("a/./b", "'.' segment"),
        ("a//b", "empty path segment"),
        ("a/", "empty path segment"),
        ("a/.headrace-tmp-123", "reserves"),
        ("é" * (MAX_KEY_BYTES // 2 + 1), "longer than 1024 bytes"),
    ],
)
def test_invalid_keys_are_rejected_with_reason_and_fix(key: str, reason: str) -> None:
    with pytest.raises(InvalidArtifactKey) as caught:
        validate_key(key)
    error = caught.value
    assert reason in str(error)
    assert repr(key) in str(error)  # names the key
    assert ";" in str(error)  # ... and says what to do
    assert error.key == key
    assert error.retryable is False
    assert isinstance(error, ArtifactStoreError)
    assert isinstance(error, ValueError)


def test_a_key_that_is_not_a_string_is_rejected() -> None:
    with pytest.raises(InvalidArtifactKey, match="must be a str"):
        validate_key(42)  # type: ignore[arg-type]


def test_join_key_validates_the_result() -> None:
    assert join_key("runs/1", "model", "weights.bin") == "runs/1/model/weights.bin"
    with pytest.raises(InvalidArtifactKey):
        join_key("runs/1", "../../etc")
    with pytest.raises(InvalidArtifactKey):
        join_key("runs/1/", "model")


def test_reserved_names() -> None:
    assert is_reserved_name(".headrace-tmp-abc")
    assert not is_reserved_name(".headrace")
    assert not is_reserved_name("headrace-tmp-abc")
