"""`headrace trigger ...` as a user types it, against the real scheduler on a real nats-server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_triggers import eventually
from trigger_platform import ORDER_PIPELINE, ORDER_TYPE, publish

from headrace.cli import main
from headrace_contracts import SubmitRun, TriggerFired
from headrace_testing.background import Background


def headrace(
    platform: Background, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = main(["trigger", *argv, "--nats-url", platform.url])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_get_delete(
    platform: Background, capsys: pytest.CaptureFixture[str], tmp_path: Path, order_spec: Any
) -> None:
    compiled = tmp_path / "order.yaml"
    compiled.write_text(yaml.safe_dump(order_spec))
    code, out, err = headrace(
        platform,
        capsys,
        "create",
        "on-order",
        str(compiled),
        "--on",
        ORDER_TYPE,
        "--filter",
        "data.total > 100",
        "-p",
        "order={{ data.order_id }}",
        "-p",
        "quantity=7",  # a constant, typed as the pipeline declares it
        "-p",
        "note=order-{{ data.order_id }}",
    )
    assert (code, err) == (0, "")
    assert out.strip() == f"trigger on-order created: runs order-pipeline on {ORDER_TYPE}"

    event_id = publish(platform.url, {"order_id": "C-9", "total": 120})
    publish(platform.url, {"order_id": "C-10", "total": 5})
    publish(platform.url, {"x": 1}, event_type="com.example.unrelated")
    fired = eventually(platform, lambda: platform.of(TriggerFired, event_id=event_id))
    assert fired[0].arguments == {"order": "C-9", "quantity": 7, "note": "order-C-9"}

    def listed() -> dict[str, Any]:
        code, out, _ = headrace(platform, capsys, "list", "--json")
        assert code == 0
        found: dict[str, Any] = json.loads(out)
        return found

    found = eventually(platform, lambda: (f := listed())["unmatched_events"] == 2 and f)
    (row,) = found["triggers"]
    assert (row["name"], row["runs_started"], row["events_filtered"]) == ("on-order", 1, 1)
    assert row["parameters"] == {
        "order": "{{ data.order_id }}",
        "quantity": 7,
        "note": "order-{{ data.order_id }}",
    }

    code, out, _ = headrace(platform, capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        *("NAME", "ON", "PIPELINE", "MATCHED", "RUNS", "REJECTED", "LAST", "ERROR")
    ]
    assert lines[1].split() == ["on-order", ORDER_TYPE, "order-pipeline", "1", "1", "0", "-"]
    assert lines[-1] == "external events no trigger took: 2"

    code, out, _ = headrace(platform, capsys, "get", "on-order")
    assert code == 0
    assert f"runs started:   1 (last: {fired[0].run_id})" in out
    assert "filter:         data.total > 100" in out

    code, out, _ = headrace(platform, capsys, "delete", "on-order")
    assert (code, out.strip()) == (0, "trigger on-order deleted")
    code, _, err = headrace(platform, capsys, "get", "on-order")
    assert code == 2
    assert "no trigger 'on-order' in namespace 'default'" in err


def test_a_filter_that_is_not_cel_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No platform at this URL: the CLI refuses the filter before it would connect.
    code = main(
        [
            "trigger",
            "create",
            "bad",
            str(ORDER_PIPELINE),
            "--on",
            ORDER_TYPE,
            "--filter",
            "data.total >",
            "--nats-url",
            "nats://127.0.0.1:1",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(
        "headrace: --filter: 'data.total >' is not valid CEL: at column 13: Syntax error"
    )


def test_a_constant_of_the_wrong_type_and_a_missing_parameter(
    platform: Background, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["create", "t", str(ORDER_PIPELINE), "--on", ORDER_TYPE]
    code, _, err = headrace(platform, capsys, *base, "-p", "order=x", "-p", "quantity=many")
    assert code == 2
    assert err == (
        "headrace: parameter 'quantity': 'many' is not a NUMBER_INTEGER (int) value: write it "
        "as JSON, e.g. 42\n"
    )
    code, _, err = headrace(platform, capsys, *base, "-p", "order={{ data.id }}")
    assert code == 2
    assert "needs parameter 'quantity', which has no default" in err


def test_subject_no_cache_and_pipeline_flags(
    platform: Background, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = headrace(
        platform,
        capsys,
        *("create", "shop-only", str(ORDER_PIPELINE), "--on", ORDER_TYPE),
        *("--subject", "headrace.ext.shop.>", "--pipeline", "order-pipeline", "--no-cache"),
        *("-p", "order={{ data.id }}", "-p", "quantity=1", "--json"),
    )
    assert (code, err) == (0, "")
    elsewhere = publish(platform.url, {"id": "E-1"}, subject="headrace.ext.other")
    taken = publish(platform.url, {"id": "S-1"}, subject="headrace.ext.shop.orders")
    fired = eventually(platform, lambda: platform.of(TriggerFired, event_id=taken))
    submitted = eventually(platform, lambda: platform.of(SubmitRun, run_id=fired[0].run_id))
    assert submitted[0].enable_caching is False
    assert submitted[0].labels == {"trigger": "shop-only"}
    assert platform.of(TriggerFired, event_id=elsewhere) == []
    code, out, _ = headrace(platform, capsys, "get", "shop-only", "--json")
    view = json.loads(out)
    assert (view["subject"], view["runs_started"], view["events_matched"]) == (
        "headrace.ext.shop.>",
        1,
        1,
    )


def test_namespaces_keep_triggers_apart(
    platform: Background, capsys: pytest.CaptureFixture[str]
) -> None:
    create = ("create", "same-name", str(ORDER_PIPELINE), "--on", ORDER_TYPE)
    params = ("-p", "order=x", "-p", "quantity=1")
    assert headrace(platform, capsys, *create, *params, "--namespace", "team-a")[0] == 0
    assert headrace(platform, capsys, *create, *params)[0] == 0  # the same name, elsewhere
    code, out, _ = headrace(platform, capsys, "list", "--namespace", "team-a", "--json")
    assert [t["namespace"] for t in json.loads(out)["triggers"]] == ["team-a"]
    assert headrace(platform, capsys, "delete", "same-name", "--namespace", "team-a")[0] == 0
    code, _, err = headrace(platform, capsys, "get", "same-name", "--namespace", "team-a")
    assert code == 2
    assert "no trigger 'same-name' in namespace 'team-a'" in err
    assert headrace(platform, capsys, "get", "same-name")[0] == 0
