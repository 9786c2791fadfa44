"""What the CLI prints about a platform: the status table and the not-ready explanation."""

from __future__ import annotations

from .health import InstanceStatus, PlatformStatus, ServiceStatus
from .home import Home


def _instance(i: InstanceStatus) -> str:
    pid = f"pid {i.pid}" if i.pid else "no process"
    if not i.answering:
        return f"{i.instance} ({pid}, not answering)"
    if not i.healthy:
        return f"{i.instance} ({pid}, unhealthy)"
    return f"{i.instance} ({pid})"


def render_table(status: PlatformStatus) -> str:
    if status.embedded_nats:
        where = f"embedded, pid {status.nats_pid}" if status.nats_pid else "embedded"
    else:
        where = "external"
    if not status.nats_reachable:
        where += ", NOT REACHABLE"
    lines = [f"NATS        {status.nats_url} ({where})"]
    if status.supervisor_pid:
        lines.append(f"supervisor  pid {status.supervisor_pid}")
    if status.dashboard_url:
        lines.append(f"dashboard   {status.dashboard_url}")
    lines.extend(
        f"{s.name} {kind}  {url} ({i.instance})"
        for s in status.services.values()
        for i in s.instances
        for kind, url in i.endpoints
    )
    rows = [("SERVICE", "STATE", "READY", "INSTANCES")]
    for s in status.services.values():
        instances = ", ".join(_instance(i) for i in s.instances) or "-"
        rows.append((s.name, s.state, f"{s.ready}/{s.replicas}", instances))
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    lines.append("")
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    )
    return "\n".join(lines)


def _why(service: ServiceStatus) -> str:
    if service.state == "down":
        return "no replica answers"
    return f"{service.ready}/{service.replicas} replicas answer" + (
        "" if all(i.healthy for i in service.instances if i.answering) else ", some unhealthy"
    )


def explain_not_ready(status: PlatformStatus, home: Home) -> str:
    """One line per service that is not healthy, with the log files to look at."""
    lines = []
    if not status.nats_reachable:
        lines.append(f"  NATS at {status.nats_url} does not answer")
    for service in status.not_ready():
        logs = ", ".join(str(home.service_log(i.instance)) for i in service.instances) or str(
            home.logs
        )
        lines.append(f"  {service.name}: {service.state} ({_why(service)}); logs: {logs}")
    return "\n".join(lines)
