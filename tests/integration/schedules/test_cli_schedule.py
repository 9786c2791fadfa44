"""`headrace schedule ...` as a user types it, against the real scheduler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schedule_platform import SchedulePlatform

from headrace import Client
from headrace.cli import main


def headrace(
    platform: SchedulePlatform, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = main(["schedule", *argv, "--nats-url", platform.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_get_pause_resume_delete(
    bare: SchedulePlatform, capsys: pytest.CaptureFixture[str], ticked_yaml: Path
) -> None:
    bare.start_scheduler()
    code, out, err = headrace(
        bare,
        capsys,
        "create",
        "every-second",
        str(ticked_yaml),
        "--every",
        "1s",
        "-p",
        "n=7",
        "--max-concurrency",
        "5",
        "--no-catchup",
        "--no-cache",
    )
    assert (code, err) == (0, "")
    assert out.startswith("schedule every-second created: every 1s, next tick ")
    run_id = bare.wait_fired(1, "every-second")[0].run_id
    bare.wait_started(run_id)
    with Client(nats_url=bare.url) as client:
        run = client.get(run_id)
    assert (run.arguments, run.enable_caching) == ({"n": 7}, False)

    code, out, _ = headrace(bare, capsys, "get", "every-second", "--json")
    view = json.loads(out)
    assert code == 0
    assert (view["arguments"], view["max_concurrency"], view["catchup"]) == ({"n": 7}, 5, False)
    assert view["state"] == "ENABLED"

    code, out, _ = headrace(bare, capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATE", "WHEN", "NEXT"]
    assert lines[1].startswith("every-second  ENABLED  every 1s")

    code, out, _ = headrace(bare, capsys, "get", "every-second")
    assert "tick-pipeline" in out
    assert "(last run every-second-" in out

    code, out, _ = headrace(bare, capsys, "pause", "every-second")
    assert (code, out.strip()) == (0, "schedule every-second PAUSED, next tick -")
    code, out, _ = headrace(bare, capsys, "resume", "every-second", "--json")
    assert (code, json.loads(out)["state"]) == (0, "ENABLED")
    code, out, _ = headrace(bare, capsys, "delete", "every-second")
    assert (code, out.strip()) == (0, "schedule every-second deleted")
    code, out, err = headrace(bare, capsys, "get", "every-second")
    assert code == 2
    assert "no schedule 'every-second' in namespace 'default'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cron", "*/5 * * *"], "cron expression '*/5 * * *' has 4 fields: give 5"),
        (["--cron", "0 0 25 * * *"], "cron expression '0 0 25 * * *' is not valid"),
        (["--every", "10 min"], "interval '10 min' is not a duration"),
        (["--every", "1s", "-p", "x=1"], "pipeline 'tick-pipeline' has no parameter 'x'"),
        (["--every", "1s"], "needs parameter 'n', which the schedule does not give"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    bare: SchedulePlatform,
    capsys: pytest.CaptureFixture[str],
    ticked_yaml: Path,
    argv: list[str],
    message: str,
) -> None:
    # no scheduler is running: the CLI itself refuses these
    code, out, err = headrace(bare, capsys, "create", "bad", str(ticked_yaml), *argv)
    assert (code, out) == (2, "")
    assert message in err, err
    assert err.count("\n") == 1  # one line, no traceback


def test_cron_and_every_exclude_each_other(
    bare: SchedulePlatform, capsys: pytest.CaptureFixture[str], ticked_yaml: Path
) -> None:
    with pytest.raises(SystemExit):
        headrace(
            bare, capsys, "create", "x", str(ticked_yaml), "--cron", "* * * * *", "--every", "1s"
        )
    assert "not allowed with argument" in capsys.readouterr().err
