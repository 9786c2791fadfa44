"""`headrace run ...` as a user types it, against the real scheduler on a real nats-server."""

from __future__ import annotations

import copy
import json
import os
import pty
import select
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from artifact_pipelines import ARTIFACT_PIPELINE_PY
from client_pipelines import PIPELINE_PY
from client_platform import Platform, eventually

from headrace import Client
from headrace.cli import main
from headrace.home import Home, PlatformState, write_state
from headrace.run_commands import follow
from headrace_testing.faults import StoreFault


@pytest.fixture
def pipeline_yaml(tmp_path: Path, summed_spec: dict[str, Any]) -> Path:
    path = tmp_path / "summed.yaml"
    path.write_text(yaml.safe_dump(summed_spec))
    return path


def headrace(
    platform: Platform, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = main(["run", *argv, "--nats-url", platform.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_types_the_parameters_and_get_shows_them(
    platform: Platform, capsys: pytest.CaptureFixture[str], pipeline_yaml: Path
) -> None:
    code, out, err = headrace(
        platform, capsys, "submit", str(pipeline_yaml), "-p", "n=5", "-p", "m=-1"
    )
    assert (code, err) == (0, "")
    run_id = out.strip()
    assert run_id.startswith("sum-pipeline-")

    code, out, _ = headrace(platform, capsys, "get", run_id, "--json")
    assert code == 0
    run = json.loads(out)
    assert run["arguments"] == {"n": 5, "m": -1}
    assert run["state"] == "RUNNING"
    assert [(s["step_id"], s["state"], s["attempts"]) for s in run["steps"]] == [
        ("add", "READY", 1),
        ("add-2", "PENDING", 0),
    ]

    code, out, _ = headrace(platform, capsys, "get", run_id)
    assert code == 0
    assert f"run         {run_id}\nstate       RUNNING\npipeline    sum-pipeline\n" in out
    assert "arguments:\n  m = -1\n  n = 5\nsteps:\n  add  READY\n  add-2  PENDING\n" in out


def test_submit_a_py_file_with_options_prints_json(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = headrace(
        platform,
        capsys,
        "submit",
        str(PIPELINE_PY),
        "-p",
        "n=1",
        "--name",
        "from the cli",
        "--experiment",
        "cli",
        "--no-cache",
        "--run-id",
        "cli-run-1",
        "--json",
    )
    assert (code, json.loads(out), err) == (0, {"run_id": "cli-run-1"}, "")
    with Client(nats_url=platform.url) as client:
        run = client.get("cli-run-1")
    assert (run.display_name, run.experiment, run.enable_caching) == ("from the cli", "cli", False)


def test_list_cancel_and_watch(
    platform: Platform, capsys: pytest.CaptureFixture[str], pipeline_yaml: Path
) -> None:
    _, out, _ = headrace(platform, capsys, "submit", str(pipeline_yaml), "-p", "n=1")
    run_id = out.strip()

    eventually(lambda: headrace(platform, capsys, "list")[1], lambda out: "1 ready" in out)
    code, out, _ = headrace(platform, capsys, "list")
    header, row, total = out.splitlines()
    assert (code, header.split()) == (
        0,
        ["RUN", "ID", "PIPELINE", "STATE", "CREATED", "DURATION", "STEPS"],
    )
    assert row.split()[:3] == [run_id, "sum-pipeline", "RUNNING"]
    assert row.endswith("  1 ready")
    assert total == "1 of 1 runs"

    code, out, _ = headrace(platform, capsys, "cancel", run_id)
    assert (code, out) == (
        0,
        f"cancelling run {run_id} (it was RUNNING); follow it with `headrace run watch {run_id}`\n",
    )
    code, out, _ = headrace(platform, capsys, "watch", run_id)
    assert code == 1  # the run did not succeed
    assert out.splitlines()[-1] == f"run {run_id}: CANCELLED"

    code, out, _ = headrace(platform, capsys, "cancel", run_id)
    assert out == f"run {run_id} has already ended (CANCELLED); nothing to cancel\n"
    listed = eventually(
        lambda: json.loads(headrace(platform, capsys, "list", "--state", "cancelled", "--json")[1]),
        lambda page: page["total"] == 1,
    )
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
    assert listed["next_page_token"] == ""
    code, out, _ = headrace(platform, capsys, "list", "--experiment", "other")
    assert out == "No runs.\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["get", "nope"], "no run 'nope' is known to the scheduler"),
        (["watch", "nope"], "no run 'nope' is known to the scheduler"),
        (["logs", "nope"], "no run 'nope' is known to the scheduler"),
        (["submit", "{yaml}", "-p", "n=five"], "parameter 'n': 'five' is not a NUMBER_INTEGER"),
        (["submit", "{yaml}", "-p", "x=1"], "has no parameter 'x' (its parameters: m, n)"),
        (["submit", "{yaml}", "-p", "n"], "-p expects NAME=VALUE, got 'n'"),
        (["submit", "{yaml}"], "parameter 'n': is required and has no default"),
        (["submit", "missing.yaml"], "no pipeline file at missing.yaml"),
        (["submit", "{bad}", "-p", "n=1"], "schemaVersion '0.1' is not supported"),
        (["submit", "{yaml}", "-p", "n=1", "--run-id", "a b"], "run id 'a b' must be"),
    ],
)
def test_a_mistake_is_one_line_and_exit_code_2(
    platform: Platform,
    capsys: pytest.CaptureFixture[str],
    pipeline_yaml: Path,
    summed_spec: dict[str, Any],
    argv: list[str],
    message: str,
) -> None:
    bad = copy.deepcopy(summed_spec)
    bad["schemaVersion"] = "0.1"
    bad_yaml = pipeline_yaml.with_name("bad.yaml")
    bad_yaml.write_text(yaml.safe_dump(bad))
    argv = [a.format(yaml=pipeline_yaml, bad=bad_yaml) for a in argv]
    code, out, err = headrace(platform, capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("headrace: ")
    assert message in err
    assert err.count("\n") == 1
    assert platform.submits() == 0


def test_a_run_the_scheduler_cannot_start_prints_its_reason_and_exit_code_2(
    platform: Platform, capsys: pytest.CaptureFixture[str], pipeline_yaml: Path
) -> None:
    engine = platform.services[0].engine
    assert engine is not None
    StoreFault(
        engine,
        statement="INSERT INTO runs",
        error="DataError",
        message="value too long for type character varying(64)",
        times=1,
    )
    code, out, err = headrace(
        platform, capsys, "submit", str(pipeline_yaml), "-p", "n=1", "--run-id", "broken-store"
    )
    assert (code, out) == (2, "")
    assert err.startswith(
        "headrace: run 'broken-store' rejected: the scheduler could not start the run: DataError: ("
    ), err
    assert err.endswith(
        "value too long for type character varying(64) (the scheduler's log has the details)\n"
    ), err
    code, out, _ = headrace(platform, capsys, "get", "broken-store", "--json")
    assert code == 0
    assert json.loads(out)["state"] == "REJECTED"


def test_submit_binds_an_input_artifact_from_a_file_uri(
    platform: Platform, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a\nb\n")
    code, out, err = headrace(
        platform,
        capsys,
        "submit",
        str(ARTIFACT_PIPELINE_PY),
        "-p",
        f"data={data.as_uri()}",
        "--run-id",
        "with-data",
    )
    assert (code, out, err) == (0, "with-data\n", "")
    code, out, _ = headrace(platform, capsys, "get", "with-data", "--json")
    run = json.loads(out)
    assert (run["state"], run["arguments"]) == ("RUNNING", {"data": data.as_uri()})
    assert [(s["step_id"], s["state"]) for s in run["steps"]] == [("count-lines", "READY")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "file:///no/such/train.csv",
            "headrace: pipeline rejected: task 'root', input artifact 'data': "
            "file:///no/such/train.csv does not exist: check the path (file:// takes an "
            "absolute path, e.g. file:///",
        ),
        (
            "models:/churn/0",
            "headrace: pipeline rejected: task 'root', input artifact 'data': "
            "'models:/churn/0' names no version: write models:/NAME@ALIAS or models:/NAME/VERSION",
        ),
        (
            "train.csv",
            "headrace: pipeline rejected: task 'root', input artifact 'data': 'train.csv' is "
            "not a URI: pass file:///absolute/path/to/it or s3://bucket/key",
        ),
    ],
)
def test_a_bad_artifact_uri_is_one_line_and_exit_code_2(
    platform: Platform, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    code, out, err = headrace(
        platform, capsys, "submit", str(ARTIFACT_PIPELINE_PY), "-p", f"data={value}"
    )
    assert (code, out) == (2, "")
    assert err.startswith(message), err
    assert err.count("\n") == 1
    assert platform.submits() == 0


def test_without_a_scheduler_exit_code_3(
    bare: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = headrace(bare, capsys, "list")
    assert (code, out) == (3, "")
    assert err == (
        f"headrace: no metadata service answers on NATS at {bare.url}: start the platform "
        "with `headrace up`\n"
    )


def test_the_running_platform_is_found_through_the_home_folder(
    platform: Platform,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEADRACE_NATS_URL", "nats://127.0.0.1:1")  # the home folder wins
    home = tmp_path / "platform-home"
    home.mkdir()
    state = PlatformState(
        os.getpid(), platform.url, embedded_nats=True, nats_pid=None, started_at=""
    )
    write_state(Home(home), state)
    assert main(["run", "list", "--home", str(home)]) == 0
    assert capsys.readouterr().out == "No runs.\n"


def test_the_live_view_redraws_in_place_on_a_terminal(
    platform: Platform, client: Client, summed_spec: dict[str, Any]
) -> None:
    run_id = client.submit(summed_spec, {"n": 1})
    master, replica = pty.openpty()
    screen = b""
    with os.fdopen(replica, "w") as terminal:
        followed = threading.Thread(target=follow, args=(client, run_id, terminal))
        followed.start()
        while b"PENDING" not in screen:  # the first frame: both steps
            assert select.select([master], [], [], 30)[0], "no frame drawn within 30s"
            screen += os.read(master, 4096)
        client.cancel(run_id)
        followed.join(timeout=30)
        assert not followed.is_alive()
    while select.select([master], [], [], 0.5)[0]:
        try:
            screen += os.read(master, 4096)
        except OSError:
            break
    os.close(master)
    text = screen.decode()
    assert text.startswith(f"run {run_id}  RUNNING  pipeline sum-pipeline")
    assert "\x1b[3F\x1b[J" in text  # back over the three lines of a frame, cleared
    last = text.rsplit("\x1b[J", 1)[1].replace("\r\n", "\n")
    assert last.splitlines()[0].startswith(f"run {run_id}  CANCELLED")


def test_list_filters_sorts_and_pages_with_its_flags(
    platform: Platform, capsys: pytest.CaptureFixture[str], pipeline_yaml: Path
) -> None:
    made = []
    for i, labels in enumerate([["team=a"], ["team=a", "tier=gold"], ["team=b"]]):
        flags = [f for label in labels for f in ("--label", label)]
        _, out, _ = headrace(platform, capsys, "submit", str(pipeline_yaml), "-p", f"n={i}", *flags)
        made.append(out.strip())

    def page(*argv: str) -> dict[str, Any]:
        code, out, err = headrace(platform, capsys, "list", "--json", *argv)
        assert (code, err) == (0, "")
        return json.loads(out)  # type: ignore[no-any-return]

    eventually(lambda: page()["total"], lambda total: total == 3)
    assert [r["run_id"] for r in page("--label", "team=a")["runs"]] == [made[1], made[0]]
    only = page("--label", "team=a", "--label", "tier=gold")
    assert ([r["run_id"] for r in only["runs"]], only["total"]) == ([made[1]], 1)
    assert only["runs"][0]["labels"] == {"team": "a", "tier": "gold"}
    assert page("--pipeline", "other", "--state", "running")["total"] == 0
    assert page("--since", "1h", "--until", "2999-01-01")["total"] == 3
    assert page("--until", "2000-01-01")["runs"] == []

    seen, token = [], ""
    while True:
        found = page(
            "--sort",
            "created",
            "--asc",
            "--limit",
            "2",
            *(["--page-token", token] if token else []),
        )
        assert found["total"] == 3
        seen += [r["run_id"] for r in found["runs"]]
        token = found["next_page_token"]
        if not token:
            break
    assert seen == made

    code, out, _ = headrace(platform, capsys, "list", "--limit", "2")
    lines = out.splitlines()
    assert (code, lines[-2]) == (0, "2 of 3 runs")
    assert lines[-1].startswith("next page: --page-token ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sort", "size"], "argument --sort: unknown sort 'size': sort by created, finished"),
        (["--label", "team"], "argument --label: expected KEY=VALUE, got 'team': e.g. --label"),
        (["--limit", "-1"], "argument --limit: expected a number from 1 to 10000, got '-1'"),
        (["--since", "yesterday"], "argument --since: expected an ISO 8601 time (2026-12-01"),
        (["--page-token", "abc"], "--page-token: page_token 'abc' is not a page token of this"),
        (
            ["--since", "2026-12-02", "--until", "2026-12-01"],
            "--since (2026-12-02T00:00:00+00:00) is not before --until (2026-12-01T00:00:00",
        ),
    ],
)
def test_a_bad_list_flag_is_one_line_naming_it_and_exit_code_2(
    platform: Platform, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        code, out, err = headrace(platform, capsys, "list", *argv)
    except SystemExit as exc:  # argparse refused it
        code = int(str(exc.code))
        out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert message in err, err
    assert err.count("\n") == 1
