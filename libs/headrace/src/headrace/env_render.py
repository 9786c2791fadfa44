"""How ``headrace env list|prune`` print cached step environments (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from headrace_contracts import EnvironmentsPruned, EnvironmentView

__all__ = ["render_environments", "render_pruned", "render_size"]


def render_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _moment(iso: str) -> str:
    return iso[:19].replace("T", " ") if iso else "-"


def _what(view: EnvironmentView) -> str:
    text = ", ".join(view.packages)
    sources = [*view.index_urls, *(f"find-links {link}" for link in view.find_links)]
    return f"{text} (from {'; '.join(sources)})" if sources else text


def render_environments(views: Sequence[EnvironmentView]) -> str:
    if not views:
        return "no step environments cached"
    rows = [("DIGEST", "SIZE", "CREATED", "LAST USED", "IN USE", "PACKAGES")]
    for view in views:
        rows.append(
            (
                view.digest,
                render_size(view.size_bytes),
                _moment(view.created_at),
                _moment(view.last_used_at),
                "yes" if view.in_use else "no",
                _what(view),
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
        + "  "
        + row[5]
        for row in rows
    )


def render_pruned(pruned: EnvironmentsPruned) -> str:
    lines = [
        f"removed {view.digest} ({', '.join(view.packages)}), {render_size(view.size_bytes)}"
        for view in pruned.removed
    ]
    lines += [f"kept {digest}: a running step uses it" for digest in pruned.in_use]
    freed = sum(view.size_bytes for view in pruned.removed)
    count = len(pruned.removed)
    lines.append(
        f"removed {count} step environment{'' if count == 1 else 's'}, freed {render_size(freed)}"
    )
    return "\n".join(lines)
