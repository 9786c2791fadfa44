"""How ``headrace model ...`` prints models and versions (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from headrace_contracts import ModelPromoted, ModelVersionView, RegisteredModelView

__all__ = ["render_model", "render_models", "render_promoted", "render_versions"]


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _moment(iso: str) -> str:
    return iso[:19].replace("T", " ") if iso else "-"


def _aliases(aliases: dict[str, int]) -> str:
    return ", ".join(f"{a}={v}" for a, v in sorted(aliases.items())) or "-"


def render_models(models: Sequence[RegisteredModelView]) -> str:
    if not models:
        return "no models registered"
    rows = [("NAME", "VERSIONS", "LATEST", "ALIASES", "UPDATED")]
    for m in models:
        rows.append(
            (
                m.name,
                str(m.version_count),
                str(m.latest_version),
                _aliases(m.aliases),
                _moment(m.updated_at),
            )
        )
    return _table(rows)


def render_model(model: RegisteredModelView) -> str:
    lines = [
        f"model      {model.name}",
        f"namespace  {model.namespace}",
        f"versions   {model.version_count} (latest {model.latest_version})",
        f"aliases    {_aliases(model.aliases)}",
        f"created    {_moment(model.created_at)}",
        f"updated    {_moment(model.updated_at)}",
    ]
    return "\n".join(lines)


def render_versions(versions: Sequence[ModelVersionView]) -> str:
    if not versions:
        return "no versions"
    rows = [("VERSION", "STATE", "ALIASES", "METRICS", "RUN/STEP", "URI")]
    for v in versions:
        metrics = ", ".join(f"{k}={x:g}" for k, x in sorted(v.metrics.items())) or "-"
        source = f"{v.run_id}/{v.step_id}" if v.run_id else "-"
        rows.append((str(v.version), v.state, ", ".join(v.aliases) or "-", metrics, source, v.uri))
    return _table(rows)


def render_promoted(event: ModelPromoted) -> str:
    was = "no version" if event.previous_version is None else f"version {event.previous_version}"
    return f"{event.model_name}@{event.alias} -> version {event.version} (was {was}): {event.uri}"
