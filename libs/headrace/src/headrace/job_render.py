"""What ``headrace job`` prints about training jobs (text; ``--json`` prints the models)."""

from __future__ import annotations

from headrace_contracts import TrainingJobView

__all__ = ["render_job", "render_jobs"]


def render_jobs(jobs: list[TrainingJobView]) -> str:
    if not jobs:
        return "no training jobs"
    rows = [("NAMESPACE", "NAME", "KIND", "STATE", "RESTARTS", "CREATED")]
    rows += [
        (j.namespace, j.name, j.kind, j.state, str(j.attempt), j.created_at[:19]) for j in jobs
    ]
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def render_job(job: TrainingJobView) -> str:
    lines = [
        f"Name:       {job.namespace}/{job.name}",
        f"Kind:       {job.kind}",
        f"State:      {job.state}" + (f" ({job.reason})" if job.reason else ""),
        f"Restarts:   {job.attempt}",
        f"Created:    {job.created_at}",
    ]
    if job.run_id:
        lines.append(f"Run:        {job.run_id} (step {job.step_id})")
    if job.started_at:
        lines.append(f"Started:    {job.started_at}")
    if job.finished_at:
        lines.append(f"Finished:   {job.finished_at}")
    if job.output_uri:
        lines.append(f"Output:     {job.output_uri}")
    lines.append("Conditions:")
    for c in job.conditions:
        lines.append(f"  {c.type:<11} {c.status:<6} {c.reason:<28} {c.message}")
    if job.replicas:
        lines.append("Replicas:")
        for r in job.replicas:
            code = "" if r.exit_code is None else f"exit {r.exit_code}"
            lines.append(f"  {r.role}-{r.index:<8} {r.state:<10} {code:<9} {r.log_uri}")
    if job.metrics:
        lines.append("Metrics:")
        lines.extend(f"  {name} = {value:g}" for name, value in sorted(job.metrics.items()))
    if job.log_tail:
        lines.append("Log tail:")
        lines.extend(f"  {line}" for line in job.log_tail.splitlines())
    return "\n".join(lines)
