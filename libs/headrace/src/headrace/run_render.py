"""What ``headrace run`` prints about runs: pure functions from views to lines of text.

The step tree indents each step under its enclosing DAG, loop or iteration
(``StepView.parent``)::

    run sum-20250101-120000-abcdef  RUNNING  pipeline sum  12.3s
      prepare          SUCCEEDED  1.2s
      for-loop-2       RUNNING
        for-loop-2[0]  RUNNING
          add          RUNNING    attempt 2
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from headrace_contracts import RunView, StepView
from headrace_contracts.run_views import RUN_FINAL_STATES

_REASON_WIDTH = 100


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def run_duration(run: RunView, now: datetime | None = None) -> float | None:
    """From creation to the end, or to ``now`` while it runs."""
    start = _parse_time(run.created_at)
    end = _parse_time(run.finished_at) or (None if run.state in RUN_FINAL_STATES else now)
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def format_time(text: str) -> str:
    found = _parse_time(text)
    return found.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if found else (text or "-")


def _short(text: str, width: int = _REASON_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# the step tree -------------------------------------------------------------------------


def step_tree(steps: Sequence[StepView]) -> list[tuple[int, StepView]]:
    """Steps in display order with their depth: each one after its parent, siblings in the
    order given. A step whose parent is not among ``steps`` shows at the top level."""
    ids = {s.step_id for s in steps}
    children: dict[str, list[StepView]] = {}
    for step in steps:
        parent = step.parent if step.parent in ids and step.parent != step.step_id else ""
        children.setdefault(parent, []).append(step)
    ordered: list[tuple[int, StepView]] = []
    seen: set[str] = set()

    def visit(parent: str, depth: int) -> None:
        for step in children.get(parent, []):
            if step.step_id in seen:
                continue
            seen.add(step.step_id)
            ordered.append((depth, step))
            visit(step.step_id, depth + 1)

    visit("", 0)
    for step in steps:  # cycles in a broken view: still show every step once
        if step.step_id not in seen:
            seen.add(step.step_id)
            ordered.append((0, step))
    return ordered


def step_label(step: StepView) -> str:
    """The step's id below its parent's: ``add`` for ``for-loop-2[0]/add``."""
    prefix = f"{step.parent}/"
    if step.parent and step.step_id.startswith(prefix):
        return step.step_id[len(prefix) :]
    return step.step_id


def step_notes(step: StepView) -> str:
    notes = []
    if step.attempts > 1:
        notes.append(f"attempt {step.attempts}")
    if step.cached:
        source = step.cache_source_run_id
        notes.append(f"cached from {source}" if source else "cached")
    duration = format_duration(step.duration_seconds)
    if duration:
        notes.append(duration)
    if step.state == "FAILED" and step.exit_code is not None:
        notes.append(f"exit {step.exit_code}")
    if step.reason and step.state in ("FAILED", "CANCELLED", "SKIPPED"):
        notes.append(_short(step.reason))
    return "  ".join(notes)


def run_header(run: RunView, now: datetime | None = None) -> str:
    parts = [f"run {run.run_id}", run.state]
    if run.pipeline_name:
        parts.append(f"pipeline {run.pipeline_name}")
    duration = format_duration(run_duration(run, now))
    if duration:
        parts.append(duration)
    return "  ".join(parts)


def render_tree(run: RunView, now: datetime | None = None) -> list[str]:
    """The live view: the run's header, then one line per step."""
    lines = [run_header(run, now)]
    rows = [("  " * (depth + 1) + step_label(step), step) for depth, step in step_tree(run.steps)]
    width = max((len(label) for label, _ in rows), default=0)
    state_width = max((len(step.state) for _, step in rows), default=0)
    for label, step in rows:
        notes = step_notes(step)
        line = f"{label.ljust(width)}  {step.state.ljust(state_width)}  {notes}"
        lines.append(line.rstrip())
    if run.error and run.state in RUN_FINAL_STATES:
        lines.append(f"  error: {_short(run.error, 300)}")
    return lines


def state_changes(before: RunView | None, after: RunView) -> list[str]:
    """What moved between two polls, one line each (the view for a non-terminal output)."""
    lines: list[str] = []
    was = {s.step_id: s for s in before.steps} if before is not None else {}
    for _, step in step_tree(after.steps):
        old = was.get(step.step_id)
        if old is None or (old.state, old.attempts) != (step.state, step.attempts):
            notes = step_notes(step)
            lines.append(f"{step.step_id}: {step.state}" + (f"  {notes}" if notes else ""))
    if before is None or before.state != after.state:
        lines.append(f"run {after.run_id}: {after.state}")
        if after.error and after.state in RUN_FINAL_STATES:
            lines.append(f"  error: {_short(after.error, 300)}")
    return lines


# run get -------------------------------------------------------------------------------


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render_detail(run: RunView, now: datetime | None = None) -> list[str]:
    """``headrace run get``: the run's summary, its outputs, then the step tree with each
    step's outputs."""
    lines = [
        f"run         {run.run_id}" + (f" ({run.display_name})" if run.display_name else ""),
        f"state       {run.state}",
        f"pipeline    {run.pipeline_name or '-'}",
        f"experiment  {run.experiment or '-'}",
        f"created     {format_time(run.created_at)}",
    ]
    if run.finished_at:
        lines.append(f"finished    {format_time(run.finished_at)}")
    duration = format_duration(run_duration(run, now))
    if duration:
        lines.append(f"duration    {duration}")
    if not run.enable_caching:
        lines.append("caching     off")
    if run.error:
        lines.append(f"error       {run.error}")
    for title, values in (("arguments", run.arguments), ("outputs", run.output_parameters)):
        if values:
            lines.append(f"{title}:")
            lines.extend(f"  {k} = {_value(v)}" for k, v in sorted(values.items()))
    if run.output_artifacts:
        lines.append("output artifacts:")
        lines.extend(
            f"  {name} = {ref.uri}" for name, refs in run.output_artifacts.items() for ref in refs
        )
    if run.steps:
        lines.append("steps:")
        for depth, step in step_tree(run.steps):
            indent = "  " * (depth + 1)
            notes = step_notes(step)
            line = f"{indent}{step_label(step)}  {step.state}  {notes}"
            lines.append(line.rstrip())
            for k, v in sorted(step.output_parameters.items()):
                lines.append(f"{indent}    {k} = {_value(v)}")
            for name, refs in step.output_artifacts.items():
                lines.extend(f"{indent}    {name} -> {ref.uri}" for ref in refs)
    return lines


# run list ------------------------------------------------------------------------------


def render_list(runs: Sequence[RunView], now: datetime | None = None) -> list[str]:
    if not runs:
        return ["No runs."]
    rows = [("RUN ID", "PIPELINE", "STATE", "CREATED", "DURATION", "STEPS")]
    rows.extend(
        (
            run.run_id,
            run.pipeline_name or "-",
            run.state,
            format_time(run.created_at),
            format_duration(run_duration(run, now)) or "-",
            step_summary(run.step_states),
        )
        for run in runs
    )
    widths = [max(len(row[col]) for row in rows) for col in range(5)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
        + "  "
        + row[5]
        for row in rows
    ]


def step_summary(states: dict[str, int]) -> str:
    """``2 succeeded, 1 failed``: how many steps are in each state, most first."""
    counted = sorted(states.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} {state.lower()}" for state, count in counted) or "-"
