"""``headrace run prune``: its arguments and how its report prints (pure)."""

from __future__ import annotations

import pytest

from headrace.cli import build_parser
from headrace.prune_command import render_report
from headrace_contracts import PruneReport


def test_ages_and_counts_are_parsed() -> None:
    args = build_parser().parse_args(
        ["run", "prune", "--older-than", "30d", "--keep", "5", "--delete-artifacts", "--dry-run"]
    )
    assert (args.older_than, args.keep, args.delete_artifacts, args.dry_run) == (
        2592000.0,
        5,
        True,
        True,
    )
    assert build_parser().parse_args(["run", "prune", "--older-than", "90m"]).older_than == 5400
    bare = build_parser().parse_args(["run", "prune"])
    assert (bare.older_than, bare.keep, bare.delete_artifacts, bare.json) == (
        None,
        None,
        False,
        False,
    )


@pytest.mark.parametrize("age", ["0d", "-3d", "30x", "soon"])
def test_a_bad_age_is_refused(age: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "prune", f"--older-than={age}"])
    assert f"expected a positive age such as 30d, 12h, 90m, 45s or 2w, got '{age}'" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("keep", ["-1", "many"])
def test_a_bad_count_is_refused(keep: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "prune", f"--keep={keep}"])
    assert f"expected a whole number of runs (0 or more), got '{keep}'" in capsys.readouterr().err


def test_the_report_says_what_would_go() -> None:
    text = render_report(
        PruneReport(
            dry_run=True,
            runs=["a", "b"],
            kept_lineage=["b"],
            run_rows=2,
            step_rows=4,
            lineage_executions=2,
            lineage_events=5,
            lineage_artifacts=3,
            artifact_rows=3,
            stored_artifacts_deleted=1,
        )
    )
    assert text.splitlines() == [
        "would remove 2 finished runs",
        "  a",
        "  b",
        "lineage and artifacts kept for registered models: b",
        "rows: 2 runs, 4 steps, 2 executions, 5 lineage events, 3 lineage artifacts, "
        "3 artifact records",
        "artifact store folders would remove: 1",
    ]
