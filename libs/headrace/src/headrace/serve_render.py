"""Plain-text views of InferenceServices for ``headrace serve``."""

from __future__ import annotations

from headrace_contracts import InferenceServiceView

__all__ = ["render_service", "render_services"]


def render_services(services: list[InferenceServiceView]) -> str:
    if not services:
        return "no InferenceServices"
    rows = [("NAMESPACE", "NAME", "STATE", "URL", "TRAFFIC")]
    for view in services:
        split = ", ".join(f"{t.revision} {t.percent}%" for t in view.traffic) or "-"
        rows.append((view.namespace, view.name, view.state, view.url or "-", split))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
        for row in rows
    )


def render_service(view: InferenceServiceView) -> str:
    lines = [
        f"InferenceService {view.namespace}/{view.name}: {view.state}",
        f"  URL:      {view.url or '-'}",
        f"  storage:  {view.storage_uri}",
        f"  format:   {view.model_format} (protocol {view.protocol_version})",
        f"  replicas: min {view.min_replicas}, max {view.max_replicas}",
    ]
    if view.canary_traffic_percent is not None:
        lines.append(f"  canaryTrafficPercent: {view.canary_traffic_percent}")
    if view.error:
        lines.append(f"  error:    {view.error}")
    lines.append("  traffic:")
    for t in view.traffic or ():
        ready = "ready" if t.ready else "not ready"
        lines.append(f"    {t.tag:<7} {t.revision} {t.percent}% ({ready})")
    if not view.traffic:
        lines.append("    none yet")
    lines.append("  revisions:")
    for rev in view.revisions:
        version = f" v{rev.model_version}" if rev.model_version else ""
        why = f" — {rev.reason}" if rev.reason else ""
        lines.append(
            f"    {rev.name} {rev.state} {rev.ready_replicas}/{rev.replicas} replicas "
            f"{rev.storage_uri}{version}{why}"
        )
    return "\n".join(lines)
