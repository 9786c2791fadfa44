"""What the dashboard shows of an artifact, from its type, metadata and first bytes."""

from __future__ import annotations

from headrace_metadata.api.preview_kinds import (
    SAMPLE_BYTES,
    TABLE_BYTES,
    TEXT_LIMIT,
    needs_bytes,
    preview,
)


def shown(schema_title: str, data: bytes | None, uri: str = "file:///a/x", **metadata: object):  # type: ignore[no-untyped-def]
    return preview(
        uri=uri, name="x", schema_title=schema_title, size=None, metadata=metadata, data=data
    )


def test_metrics_keep_numbers_only() -> None:
    found = shown("system.Metrics", None, accuracy=0.9, epochs=3, note="x", flag=True)
    assert found.kind == "metrics"
    assert [(m.name, m.value) for m in found.metrics] == [("accuracy", 0.9), ("epochs", 3.0)]
    assert needs_bytes("system.Metrics", {}) == 0


def test_a_classification_without_a_curve_has_an_empty_one() -> None:
    matrix = {"annotationSpecs": [{"displayName": "a"}], "rows": [{"row": [3]}]}
    found = shown("system.ClassificationMetrics", None, confusionMatrix=matrix)
    assert (found.kind, found.categories, found.matrix, found.roc) == (
        "classification",
        ["a"],
        [[3.0]],
        [],
    )


def test_html_and_markdown_are_cut_at_their_limit() -> None:
    big = b"<p>" + b"x" * TEXT_LIMIT
    found = shown("system.HTML", big[: TEXT_LIMIT + 1])
    assert (found.kind, len(found.content), found.truncated) == ("html", TEXT_LIMIT, True)
    assert shown("system.Markdown", b"# hi").content == "# hi"
    assert shown("system.HTML", b"\x00\x01").kind == "binary"


def test_tables_by_name_or_by_their_delimiter() -> None:
    tsv = b"a\tb\n1\t2\n"
    by_name = shown("system.Dataset", tsv, uri="s3://b/t.tsv")
    assert (by_name.kind, by_name.columns, by_name.rows, by_name.truncated) == (
        "table",
        ["a", "b"],
        [["1", "2"]],
        False,
    )
    sniffed = shown("system.Dataset", b"x;y\n1;2\n3;4\n")
    assert (sniffed.kind, sniffed.columns) == ("table", ["x", "y"])
    long = b"n,m\n" + b"".join(f"{i},{i}\n".encode() for i in range(5000))
    cut = shown("system.Dataset", long[: TABLE_BYTES + 1])
    assert (len(cut.rows), cut.truncated) == (20, True)


def test_other_files_are_text_or_binary() -> None:
    text = shown("system.Artifact", "é".encode() * SAMPLE_BYTES)
    assert text.kind == "text"
    assert text.truncated
    assert len(text.content.encode()) <= SAMPLE_BYTES
    assert shown("system.Artifact", bytes(range(256))).kind == "binary"
    assert shown("system.Model", None).kind == "binary"
    assert shown("system.Artifact", b"one line, no table").kind == "text"
