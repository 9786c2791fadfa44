"""`make demo` as a user runs it (``examples/demo.py`` in a fresh home): the platform comes up,
run 1 promotes a model, the InferenceService serves it and answers the printed request, run 2
promotes a better version and the service's traffic moves to it without a failed request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The demo trains, tunes and serves: about a minute on 2 idle cores, several on a busy
# machine; its own subprocess timeout (900 s) is what guards against a hang.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BIN = Path(sys.executable).parent
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"
ISOLATE = ("HEADRACE_NATS_URL", "NATS_URL", "HEADRACE_DATABASE_URL", "HEADRACE_ARTIFACTS")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    found = {k: v for k, v in os.environ.items() if k not in ISOLATE}
    found["HEADRACE_HOME"] = str(tmp_path / "home")
    found["HEADRACE_METADATA_HTTP_PORT"] = "0"  # another platform may hold the default port
    try:
        yield found
    finally:
        subprocess.run([str(BIN / "headrace"), "down"], env=found, capture_output=True, timeout=120)


def test_make_demo_goes_from_raw_data_to_a_served_model_and_rolls_out_a_better_one(
    env: dict[str, str],
) -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=900
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr

    assert "breast-cancer@production is version 1" in out
    assert "demo-classifier is Ready at http" in out
    curl = re.search(r"curl -s .* (http://\S+)/v2/models/demo-classifier/infer -d '(.+)'", out)
    assert curl is not None, out
    body = json.loads(curl.group(2))
    assert body["inputs"][0]["datatype"] == "FP64"
    assert body["inputs"][0]["shape"] == [1, 30]

    first = json.loads(out.split("\nanswer: ", 1)[1].splitlines()[0])
    assert first["model_name"] == "demo-classifier"
    assert first["model_version"] == "1"
    assert first["outputs"][0]["data"][0] in (0, 1)

    assert "breast-cancer@production is version 2: demo-classifier rolls to it" in out
    # requests sent all through run 2 and the rollout: version 1 answered, then version 2,
    # and none failed
    sent = out.split("by the version that answered them:\n", 1)[1].splitlines()[0].strip()
    assert re.fullmatch(r"version 1 x \d+, then version 2 x \d+", sent), sent
    assert "traffic before (version 1):" in out
    assert "traffic after (version 2):" in out
    after = json.loads(out.split("\nanswer now: ", 1)[1].splitlines()[0])
    assert after["model_version"] == "2"
