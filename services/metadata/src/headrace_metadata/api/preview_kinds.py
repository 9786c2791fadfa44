"""What an artifact looks like in the dashboard, from its kfp type, its metadata and the
first bytes of its file (pure: no I/O here).

* ``system.Metrics``: kfp keeps ``log_metric`` values in the artifact's metadata;
* ``system.ClassificationMetrics``: ``log_confusion_matrix`` keeps ``confusionMatrix``
  (``annotationSpecs`` and ``rows``), ``log_roc_curve`` keeps ``confidenceMetrics``;
* ``system.HTML`` / ``system.Markdown``: the file's text, cut at :data:`TEXT_LIMIT`;
* a CSV/TSV file: its header and first :data:`TABLE_ROWS` rows;
* anything else: the first :data:`SAMPLE_BYTES` as text, or ``binary``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

TEXT_LIMIT = 256 << 10
TABLE_BYTES = 64 << 10
TABLE_ROWS = 20
SAMPLE_BYTES = 4 << 10
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
DELIMITERS = ",\t;|"

Kind = Literal["metrics", "classification", "html", "markdown", "table", "text", "binary"]


class MetricValue(BaseModel):
    name: str
    value: float


class CurvePoint(BaseModel):
    """One point of a ROC curve as kfp's ``log_roc_curve`` keeps it."""

    threshold: float
    fpr: float = Field(description="false positive rate")
    tpr: float = Field(description="true positive rate (recall)")


class Preview(BaseModel):
    """An artifact's preview; which fields are filled depends on ``kind``."""

    kind: Kind
    uri: str
    name: str = ""
    schema_title: str = ""
    size: int | None = None
    metrics: list[MetricValue] = Field(default_factory=list, description="metrics")
    categories: list[str] = Field(default_factory=list, description="classification")
    matrix: list[list[float]] = Field(
        default_factory=list, description="classification: one row per actual category"
    )
    roc: list[CurvePoint] = Field(default_factory=list, description="classification")
    content: str = Field(default="", description="html, markdown, text")
    columns: list[str] = Field(default_factory=list, description="table: the header")
    rows: list[list[str]] = Field(default_factory=list, description="table: the first rows")
    truncated: bool = Field(default=False, description="more than is shown is stored")
    is_dir: bool = False


def needs_bytes(schema_title: str, metadata: Mapping[str, Any]) -> int:
    """How many bytes of the file the preview needs (0: the metadata suffices)."""
    if schema_title in ("system.Metrics", "system.ClassificationMetrics"):
        return 0
    if schema_title in ("system.HTML", "system.Markdown"):
        return TEXT_LIMIT + 1
    return TABLE_BYTES + 1


def metrics_of(metadata: Mapping[str, Any]) -> list[MetricValue]:
    return [
        MetricValue(name=name, value=float(value))
        for name, value in metadata.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def classification_of(metadata: Mapping[str, Any]) -> dict[str, Any]:
    matrix = metadata.get("confusionMatrix") or {}
    specs = matrix.get("annotationSpecs") or [] if isinstance(matrix, dict) else []
    rows = matrix.get("rows") or [] if isinstance(matrix, dict) else []
    points = metadata.get("confidenceMetrics") or []
    return {
        "categories": [str(s.get("displayName", "")) for s in specs if isinstance(s, dict)],
        "matrix": [[float(v) for v in r.get("row", [])] for r in rows if isinstance(r, dict)],
        "roc": [
            CurvePoint(
                threshold=float(p.get("confidenceThreshold", 0.0)),
                fpr=float(p.get("falsePositiveRate", 0.0)),
                tpr=float(p.get("recall", 0.0)),
            )
            for p in points
            if isinstance(p, dict)
        ],
    }


def text_of(data: bytes, limit: int) -> tuple[str, bool] | None:
    """The text of ``data`` cut at ``limit`` bytes; None when it is not UTF-8 text."""
    cut = data[:limit]
    if b"\x00" in cut:
        return None
    try:
        return cut.decode("utf-8"), len(data) > limit
    except UnicodeDecodeError as exc:
        if len(data) > limit and exc.start >= len(cut) - 3:  # a character cut in two
            return cut[: exc.start].decode("utf-8"), True
        return None


def table_of(data: bytes, uri: str) -> tuple[list[str], list[list[str]], bool] | None:
    """Header, first rows and whether more follow, if ``data`` is CSV/TSV; else None."""
    decoded = text_of(data, TABLE_BYTES)
    if decoded is None:
        return None
    text, cut = decoded
    lines = text.splitlines()
    if cut and lines:
        lines = lines[:-1]  # the last line may be cut off
    if len(lines) < 2:
        return None
    delimiter = next(
        (d for suffix, d in TABLE_SUFFIXES.items() if uri.lower().endswith(suffix)), None
    )
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines[:10]), delimiters=DELIMITERS).delimiter
        except csv.Error:
            return None
    rows = list(csv.reader(io.StringIO("\n".join(lines[: TABLE_ROWS + 1])), delimiter=delimiter))
    header, body = rows[0], rows[1:]
    if len(header) < 2 or any(len(row) != len(header) for row in body):
        return None
    return header, body, cut or len(lines) > TABLE_ROWS + 1


def preview(
    *,
    uri: str,
    name: str,
    schema_title: str,
    size: int | None,
    metadata: Mapping[str, Any],
    data: bytes | None,
    is_dir: bool = False,
) -> Preview:
    """The preview of an artifact from its metadata and the first bytes of its file
    (``data``: at least :func:`needs_bytes` of them, or None when it cannot be read)."""
    common: dict[str, Any] = {
        "uri": uri,
        "name": name,
        "schema_title": schema_title,
        "size": size,
        "is_dir": is_dir,
    }
    if schema_title == "system.Metrics":
        return Preview(kind="metrics", metrics=metrics_of(metadata), **common)
    if schema_title == "system.ClassificationMetrics":
        return Preview(kind="classification", **classification_of(metadata), **common)
    if data is None:
        return Preview(kind="binary", **common)
    if schema_title in ("system.HTML", "system.Markdown"):
        decoded = text_of(data, TEXT_LIMIT)
        if decoded is not None:
            kind: Kind = "html" if schema_title == "system.HTML" else "markdown"
            return Preview(kind=kind, content=decoded[0], truncated=decoded[1], **common)
        return Preview(kind="binary", **common)
    table = table_of(data, uri)
    if table is not None:
        columns, rows, cut = table
        return Preview(kind="table", columns=columns, rows=rows, truncated=cut, **common)
    sample = text_of(data, SAMPLE_BYTES)
    if sample is not None:
        return Preview(kind="text", content=sample[0], truncated=sample[1], **common)
    return Preview(kind="binary", **common)
