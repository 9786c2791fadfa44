"""Behaviour every artifact store shares, run against the file store and a real S3 server."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from headrace_artifacts import (
    ArtifactNotFound,
    ArtifactStore,
    ArtifactStoreError,
    InvalidArtifactKey,
)

TREE = {
    "config.json": b'{"lr": 0.1}',
    "weights/layer1.bin": os.urandom(3000),
    "weights/deeper/layer2.bin": os.urandom(70_000),
    "README with space.md": "résumé\n".encode(),
}


def write_tree(folder: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def read_tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def documented_dir_digest(files: dict[str, bytes]) -> str:
    """The directory digest exactly as ``headrace_artifacts.digest`` documents it."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        file_hex = hashlib.sha256(files[relative]).hexdigest()
        digest.update(relative.encode() + b"\0" + file_hex.encode() + b"\n")
    return digest.hexdigest()


def test_file_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024 + 17)  # more than one 1 MiB chunk
    source = tmp_path / "model.pt"
    source.write_bytes(data)

    info = store.put_file(source, "runs/1/train/model.pt")
    fetched = store.get_file("runs/1/train/model.pt", tmp_path / "out" / "model.pt")

    assert (tmp_path / "out" / "model.pt").read_bytes() == data
    assert info.sha256 == fetched.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == fetched.size == len(data)
    assert (info.is_dir, info.file_count) == (False, 1)
    assert info.uri == store.uri_for("runs/1/train/model.pt")
    assert info.digest == f"sha256:{info.sha256}"
    assert store.stat("runs/1/train/model.pt") == info


def test_empty_file_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    info = store.put_file(tmp_path / "empty", "empty.txt")
    store.get_file("empty.txt", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b""
    assert (info.size, info.sha256) == (0, hashlib.sha256(b"").hexdigest())


def test_nested_dir_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", TREE)

    info = store.put_dir(source, "runs/1/train/model")
    fetched = store.get_dir("runs/1/train/model", tmp_path / "dst")

    assert read_tree(tmp_path / "dst") == TREE
    assert info.sha256 == fetched.sha256 == documented_dir_digest(TREE)
    assert info.is_dir
    assert info.file_count == len(TREE)
    assert info.size == sum(len(data) for data in TREE.values())
    assert store.stat("runs/1/train/model") == info
    assert store.stat("runs/1/train/model/weights/layer1.bin").sha256 == (
        hashlib.sha256(TREE["weights/layer1.bin"]).hexdigest()
    )


def test_exists(store: ArtifactStore, tmp_path: Path) -> None:
    write_tree(tmp_path / "src", {"a/b.txt": b"b"})
    store.put_dir(tmp_path / "src", "data/set")
    assert store.exists("data/set")
    assert store.exists("data/set/a/b.txt")
    assert store.exists("data")  # a folder holding artifacts is a directory too
    assert not store.exists("data/se")  # a prefix of a name is not a folder
    assert not store.exists("nothing/here")


def test_get_handles_files_and_dirs_by_key_or_uri(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"file")
    write_tree(tmp_path / "d", {"x.txt": b"x", "y/z.txt": b"z"})
    file_info = store.put_file(tmp_path / "f.txt", "k/file.txt")
    dir_info = store.put_dir(tmp_path / "d", "k/dir")

    assert store.get(file_info.uri, tmp_path / "got-file") == file_info
    assert store.get("k/dir", tmp_path / "got-dir") == dir_info
    assert (tmp_path / "got-file").read_bytes() == b"file"
    assert read_tree(tmp_path / "got-dir") == {"x.txt": b"x", "y/z.txt": b"z"}
    with pytest.raises(ArtifactNotFound, match="k/missing"):
        store.get(store.uri_for("k/missing"), tmp_path / "nothing")


def test_overwrite_replaces_content_and_kind(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "v1").write_bytes(b"one")
    (tmp_path / "v2").write_bytes(b"two, longer")
    store.put_file(tmp_path / "v1", "art")
    store.put_file(tmp_path / "v2", "art")
    assert store.stat("art").sha256 == hashlib.sha256(b"two, longer").hexdigest()

    write_tree(tmp_path / "tree1", {"a.txt": b"a", "stale/b.txt": b"b"})
    write_tree(tmp_path / "tree2", {"a.txt": b"A", "c.txt": b"c"})
    store.put_dir(tmp_path / "tree1", "art")  # a directory replaces the file
    info = store.put_dir(tmp_path / "tree2", "art")  # and drops files the new one lacks
    assert store.stat("art") == info
    store.get("art", tmp_path / "out")
    assert read_tree(tmp_path / "out") == {"a.txt": b"A", "c.txt": b"c"}

    store.put_file(tmp_path / "v1", "art")  # a file replaces the directory
    assert not store.stat("art").is_dir
    assert not store.exists("art/a.txt")


def test_delete(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    write_tree(tmp_path / "d", TREE)
    store.put_file(tmp_path / "f", "del/file")
    store.put_dir(tmp_path / "d", "del/dir")

    assert store.delete("del/file") is True
    assert store.delete("del/dir") is True
    assert not store.exists("del/file")
    assert not store.exists("del/dir")
    assert not store.exists("del")
    assert store.delete("del/file") is False  # idempotent


def test_not_found_names_the_uri(store: ArtifactStore, tmp_path: Path) -> None:
    uri = store.uri_for("no/such/thing")
    with pytest.raises(ArtifactNotFound, match="no/such/thing") as caught:
        store.stat("no/such/thing")
    assert caught.value.uri == uri
    assert caught.value.retryable is False
    with pytest.raises(ArtifactNotFound):
        store.get_file("no/such/thing", tmp_path / "x")
    with pytest.raises(ArtifactNotFound):
        store.get_dir("no/such/thing", tmp_path / "x")
    with pytest.raises(ArtifactNotFound):
        store.open_read("no/such/thing")
    assert not (tmp_path / "x").exists()


def test_kind_mismatch_is_explained(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    write_tree(tmp_path / "d", {"a": b"a"})
    store.put_file(tmp_path / "f", "file")
    store.put_dir(tmp_path / "d", "dir")
    with pytest.raises(ArtifactStoreError, match="directory artifact: use get_dir"):
        store.get_file("dir", tmp_path / "x")
    with pytest.raises(ArtifactStoreError, match="directory artifact"):
        store.open_read("dir")
    with pytest.raises(ArtifactStoreError, match="file artifact: use get_file"):
        store.get_dir("file", tmp_path / "y")


def test_open_read_streams(store: ArtifactStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    (tmp_path / "big").write_bytes(data)
    store.put_file(tmp_path / "big", "stream/big")
    with store.open_read("stream/big") as reader:
        first = reader.read(10)
        chunks = [first]
        while chunk := reader.read(1024 * 1024):
            chunks.append(chunk)
    assert b"".join(chunks) == data


def test_put_refuses_missing_and_empty_sources(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactStoreError, match="not a file"):
        store.put_file(tmp_path / "missing", "x")
    with pytest.raises(ArtifactStoreError, match="not a file"):
        store.put_file(tmp_path / "empty", "x")
    with pytest.raises(ArtifactStoreError, match="no empty folders"):
        store.put_dir(tmp_path / "empty", "x")
    assert not store.exists("x")


def test_uri_and_key_round_trip(store: ArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    for key in ("a/b.txt", "with space/ünïcode #1.txt", "percent%20sign"):
        info = store.put_file(tmp_path / "f", key)
        assert info.uri.startswith(store.root_uri + "/")
        assert store.key_for(info.uri) == key
        assert store.resolve_key(info.uri) == store.resolve_key(key) == key
        assert store.stat(key).uri == info.uri


@pytest.mark.parametrize(
    "uri",
    ["s3://some-other-bucket/a.txt", "file:///elsewhere/a.txt", "gs://bucket/a.txt"],
)
def test_foreign_uri_is_rejected(store: ArtifactStore, uri: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidArtifactKey, match="open") as caught:
        store.key_for(uri)
    assert uri in str(caught.value)
    with pytest.raises(InvalidArtifactKey):
        store.get(uri, tmp_path / "x")


@pytest.mark.parametrize("bad_key", ["../escape", "/abs", "a/../../b", "a\\b", "", "a//b"])
def test_every_operation_validates_keys(store: ArtifactStore, bad_key: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    write_tree(tmp_path / "d", {"a": b"a"})
    with pytest.raises(InvalidArtifactKey):
        store.put_file(tmp_path / "f", bad_key)
    with pytest.raises(InvalidArtifactKey):
        store.put_dir(tmp_path / "d", bad_key)
    with pytest.raises(InvalidArtifactKey):
        store.get_file(bad_key, tmp_path / "x")
    with pytest.raises(InvalidArtifactKey):
        store.get_dir(bad_key, tmp_path / "x")
    with pytest.raises(InvalidArtifactKey):
        store.stat(bad_key)
    with pytest.raises(InvalidArtifactKey):
        store.exists(bad_key)
    with pytest.raises(InvalidArtifactKey):
        store.delete(bad_key)
    with pytest.raises(InvalidArtifactKey):
        store.open_read(bad_key)
    with pytest.raises(InvalidArtifactKey):
        store.uri_for(bad_key)


def test_downloads_leave_no_temporary_files(store: ArtifactStore, tmp_path: Path) -> None:
    write_tree(tmp_path / "src", TREE)
    store.put_dir(tmp_path / "src", "tidy")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "keep.txt").write_bytes(b"mine")
    store.get_dir("tidy", tmp_path / "dst")
    store.get_file("tidy/config.json", tmp_path / "dst" / "again.json")
    names = {path.name for path in (tmp_path / "dst").rglob("*")}
    assert not any(name.startswith(".headrace-tmp-") for name in names)
    assert (tmp_path / "dst" / "keep.txt").read_bytes() == b"mine"  # left alone


def test_directory_digest_is_independent_of_location(store: ArtifactStore, tmp_path: Path) -> None:
    write_tree(tmp_path / "one", TREE)
    write_tree(tmp_path / "two", dict(reversed(list(TREE.items()))))
    first = store.put_dir(tmp_path / "one", "here/model")
    second = store.put_dir(tmp_path / "two", "there/other/model")
    assert first.sha256 == second.sha256
    write_tree(tmp_path / "three", {**TREE, "config.json": b"{}"})
    assert store.put_dir(tmp_path / "three", "changed").sha256 != first.sha256
