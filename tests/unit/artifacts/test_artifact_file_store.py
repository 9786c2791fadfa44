"""The file:// store: round trips, digests, URIs, atomic writes and symlink confinement.

Behaviour shared with the S3 store is also run against this store in
tests/integration/artifacts/test_artifact_store_behaviour.py.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from headrace_artifacts import (
    ArtifactNotFound,
    ArtifactStoreError,
    FileStore,
    InvalidArtifactKey,
    default_root,
    default_root_uri,
    dir_digest,
    open_store,
)

TEMP_PREFIX = ".headrace-tmp-"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def store(root: Path) -> FileStore:
    return FileStore(root)


def temp_entries(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.startswith(TEMP_PREFIX)]


@pytest.mark.parametrize("sync", [True, False], ids=["synced", "unsynced"])
def test_file_round_trip_digest_matches_hashlib(
    store: FileStore, tmp_path: Path, sync: bool
) -> None:
    data = os.urandom(1024 * 1024 * 2 + 3)
    (tmp_path / "in.bin").write_bytes(data)
    info = store.put_file(tmp_path / "in.bin", "a/b/in.bin", sync=sync)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert (store.root / "a" / "b" / "in.bin").read_bytes() == data
    assert store.get_file("a/b/in.bin", tmp_path / "out.bin") == info
    assert (tmp_path / "out.bin").read_bytes() == data


def test_nested_dir_round_trip(store: FileStore, tmp_path: Path) -> None:
    files = {"a.txt": b"a", "sub/b.txt": b"bb", "sub/deep/c.txt": b"ccc"}
    for relative, data in files.items():
        (tmp_path / "src" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / relative).write_bytes(data)
    info = store.put_dir(tmp_path / "src", "model")
    expected = dir_digest((rel, hashlib.sha256(data).hexdigest()) for rel, data in files.items())
    assert (info.sha256, info.size, info.file_count, info.is_dir) == (expected, 6, 3, True)
    store.get_dir("model", tmp_path / "dst")
    for relative, data in files.items():
        assert (tmp_path / "dst" / relative).read_bytes() == data


def test_stat_recomputes_the_digest(store: FileStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"one")
    store.put_file(tmp_path / "f", "f")
    (store.root / "f").write_bytes(b"changed behind the store's back")
    assert store.stat("f").sha256 == hashlib.sha256(b"changed behind the store's back").hexdigest()
    assert sorted(path.name for path in store.root.iterdir()) == ["f"]  # no sidecar files


def test_overwrite_and_delete(store: FileStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"1")
    (tmp_path / "g").write_bytes(b"22")
    store.put_file(tmp_path / "f", "x/y/z")
    assert store.put_file(tmp_path / "g", "x/y/z").size == 2
    assert (store.root / "x/y/z").read_bytes() == b"22"
    assert store.delete("x/y/z") is True
    assert not (store.root / "x").exists()  # emptied folders are pruned
    assert store.root.is_dir()
    assert store.delete("x/y/z") is False


def test_not_found(store: FileStore, tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotFound, match=r"file://.*/root/missing\.txt"):
        store.get_file("missing.txt", tmp_path / "out")
    with pytest.raises(ArtifactNotFound):
        store.stat("missing.txt")
    (store.root / "empty-folder").mkdir(parents=True)
    assert not store.exists("empty-folder")  # an empty folder is not an artifact
    with pytest.raises(ArtifactNotFound):
        store.get_dir("empty-folder", tmp_path / "out")


def test_uris_are_percent_encoded_file_uris(store: FileStore, root: Path) -> None:
    uri = store.uri_for("a b/c#d.txt")
    assert uri == root.as_uri() + "/a%20b/c%23d.txt"
    assert store.key_for(uri) == "a b/c#d.txt"
    assert store.root_uri == root.as_uri()


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3://bucket/a.txt", "not a local file:// URI"),
        ("file://otherhost/root/a.txt", "not a local file:// URI"),
        ("file:///elsewhere/a.txt", "outside this store's root"),
        ("file:///tmp?x=1", "query or fragment"),
    ],
)
def test_key_for_rejects_uris_of_other_stores(store: FileStore, uri: str, reason: str) -> None:
    with pytest.raises(InvalidArtifactKey, match=reason):
        store.key_for(uri)


def test_key_for_rejects_escaping_uris_and_the_root_itself(store: FileStore) -> None:
    with pytest.raises(InvalidArtifactKey, match=r"'\.\.' segment"):
        store.key_for(store.root_uri + "/../outside.txt")
    with pytest.raises(InvalidArtifactKey, match="outside this store's root"):
        store.key_for(store.root_uri)


def test_symlinked_folder_cannot_escape_the_root(
    store: FileStore, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    root.mkdir()
    (root / "link").symlink_to(outside)
    (tmp_path / "f").write_bytes(b"f")

    with pytest.raises(InvalidArtifactKey, match="outside the store root"):
        store.put_file(tmp_path / "f", "link/planted.txt")
    with pytest.raises(InvalidArtifactKey, match="outside the store root"):
        store.get_file("link/secret.txt", tmp_path / "stolen")
    with pytest.raises(InvalidArtifactKey):
        store.stat("link/secret.txt")
    with pytest.raises(InvalidArtifactKey):
        store.exists("link")
    with pytest.raises(InvalidArtifactKey):
        store.delete("link/secret.txt")
    assert not (outside / "planted.txt").exists()
    assert not (tmp_path / "stolen").exists()
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_symlinked_file_inside_a_stored_dir_cannot_expose_outside_files(
    store: FileStore, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (root / "model").mkdir(parents=True)
    (root / "model" / "ok.txt").write_bytes(b"ok")
    (root / "model" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(InvalidArtifactKey, match="links outside the store root"):
        store.get_dir("model", tmp_path / "out")
    with pytest.raises(InvalidArtifactKey, match="links outside the store root"):
        store.stat("model")


def test_symlinks_within_the_root_are_fine(store: FileStore, root: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    store.put_file(tmp_path / "f", "real/f")
    (root / "alias").symlink_to(root / "real")
    assert store.stat("alias/f").sha256 == hashlib.sha256(b"f").hexdigest()


def test_writes_leave_no_temporary_files(store: FileStore, root: Path, tmp_path: Path) -> None:
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "a").write_bytes(b"a")
    (tmp_path / "f").write_bytes(b"f")
    store.put_file(tmp_path / "f", "f")
    store.put_dir(tmp_path / "src", "d")
    store.put_dir(tmp_path / "src", "d")  # replace
    store.put_file(tmp_path / "f", "d")  # a file over a dir
    store.get("d", tmp_path / "out")
    assert temp_entries(root) == []
    assert temp_entries(tmp_path) == []


def test_failed_put_dir_keeps_the_old_artifact_and_leaves_nothing_behind(
    store: FileStore, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "a.txt").write_bytes(b"version 1")
    before = store.put_dir(tmp_path / "v1", "model")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "a.txt").write_bytes(b"version 2")
    (tmp_path / "v2" / "b.txt").symlink_to(tmp_path / "does-not-exist")  # fails mid-copy

    with pytest.raises(ArtifactStoreError, match="broken symlink"):
        store.put_dir(tmp_path / "v2", "model")
    assert store.stat("model") == before
    assert temp_entries(root) == []


def test_put_dir_follows_file_links_but_refuses_folder_links(
    store: FileStore, tmp_path: Path
) -> None:
    (tmp_path / "blob").write_bytes(b"blob")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "weights.bin").symlink_to(tmp_path / "blob")
    assert store.put_dir(tmp_path / "src", "m").size == 4
    (tmp_path / "src" / "folder").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ArtifactStoreError, match="symlink to a folder"):
        store.put_dir(tmp_path / "src", "m2")


def test_a_key_below_a_file_artifact_is_refused(store: FileStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    store.put_file(tmp_path / "f", "a")
    with pytest.raises(InvalidArtifactKey, match="already a file artifact"):
        store.put_file(tmp_path / "f", "a/b")


def test_default_root_is_under_the_headrace_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HEADRACE_HOME", raising=False)
    assert default_root() == Path("~/.headrace/artifacts").expanduser()
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / "artifacts"
    assert FileStore().root == tmp_path / "home" / "artifacts"
    assert default_root_uri() == (tmp_path / "home" / "artifacts").as_uri()
    assert default_root(tmp_path / "explicit") == tmp_path / "explicit" / "artifacts"


def test_open_store_file_uri(root: Path) -> None:
    store = open_store(root.as_uri())
    assert isinstance(store, FileStore)
    assert store.root == root


@pytest.mark.parametrize(
    "uri", ["file://relative/path", "file:relative", "gs://bucket/x", "/plain/path"]
)
def test_open_store_rejects_unusable_roots(uri: str) -> None:
    with pytest.raises(ArtifactStoreError, match="file:///"):
        open_store(uri)


def test_stored_files_get_normal_permissions(store: FileStore, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    store.put_file(tmp_path / "f", "f")
    umask = os.umask(0)
    os.umask(umask)
    assert (store.root / "f").stat().st_mode & 0o777 == 0o666 & ~umask
