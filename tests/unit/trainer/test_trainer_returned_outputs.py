"""Output artifacts as kfp's executor output reports them, taken as KFP's launcher takes
them (a real FileStore in a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace_artifacts import FileStore
from headrace_contracts import ArtifactRef
from headrace_trainer.errors import OutputError
from headrace_trainer.executor.staging import Staging


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return Staging(FileStore(tmp_path / "store"), tmp_path / "work")


def planned(staging: Staging) -> tuple[ArtifactRef, Path]:
    ref = ArtifactRef(uri=staging.store.uri_for("runs/r/make/data"), name="data")
    return ref, staging.output_path("data", ref)


def test_content_at_a_returned_local_path_goes_to_the_outputs_uri(staging: Staging) -> None:
    ref, path = planned(staging)
    elsewhere = staging.workdir / "Output"
    elsewhere.parent.mkdir(parents=True, exist_ok=True)
    elsewhere.write_text("abc")
    info = staging.store_returned("data", ref, path, {"uri": str(elsewhere)}, "system.Dataset")
    assert (info.uri, info.size) == (ref.uri, 3)
    assert path.read_text() == "abc"


def test_a_custom_path_wins(staging: Staging, tmp_path: Path) -> None:
    ref, path = planned(staging)
    custom = tmp_path / "custom.csv"
    custom.write_text("abcd")
    returned = {"uri": str(path), "custom_path": str(custom)}
    info = staging.store_returned("data", ref, path, returned, "system.Dataset")
    assert (info.uri, info.size) == (ref.uri, 4)


def test_a_uri_in_the_store_is_recorded_where_it_is(staging: Staging) -> None:
    ref, path = planned(staging)
    other = staging.store.uri_for("shared/data.csv")
    source = staging.workdir / "x"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("shared")
    staging.store.put_file(source, "shared/data.csv")
    info = staging.store_returned("data", ref, path, {"uri": other}, "system.Dataset")
    assert (info.uri, info.size) == (other, 6)


def test_a_uri_outside_the_store_is_named(staging: Staging) -> None:
    ref, path = planned(staging)
    with pytest.raises(OutputError) as caught:
        staging.store_returned("data", ref, path, {"uri": "gs://elsewhere/x"}, "system.Dataset")
    assert str(caught.value).startswith(
        "returned output artifact 'data' at gs://elsewhere/x, which is not in this launcher's "
        f"artifact store ({staging.store.root_uri})"
    )


def test_nothing_written_anywhere_is_named(staging: Staging) -> None:
    ref, path = planned(staging)
    missing = staging.workdir / "Output"
    with pytest.raises(OutputError) as caught:
        staging.store_returned("data", ref, path, {"uri": str(missing)}, "system.Dataset")
    assert str(caught.value).startswith(
        f"declares output artifact 'data' but did not write it (expected a file or folder at "
        f"{missing})"
    )
