"""`make demo`: from raw data to a served model, and a better model rolled out to it.

1. `headrace up --detach` starts the embedded nats-server and the five services.
2. Run 1 of examples/demo_pipeline.py (ingest raw data -> prepare -> tune a Katib experiment
   -> train -> evaluate -> register -> promote to `production` if accuracy >= 0.9), over a
   grid of small C values: a fair model, version N of `breast-cancer`, promoted.
3. `headrace apply -f examples/serving/isvc.yaml`: the InferenceService `demo-classifier`
   serves `models:/breast-cancer@production`; the demo waits until it is Ready, prints a
   `curl` against its `/v2/models/demo-classifier/infer` with a real feature row, and sends it.
4. Run 2 tunes over better C values: a better version, promoted; the service rolls to it. The
   demo sends requests all the while and shows which version answered them, in order (and
   any that failed), the traffic table before and after, and the `model_version` answering.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent
HOME = Path(os.environ.get("HEADRACE_HOME") or Path.home() / ".headrace")
MODEL = "breast-cancer"
SERVICE = "demo-classifier"
ISVC = HERE / "serving" / "isvc.yaml"
RUNS = (
    ("run 1: a fair model", "0.002,0.005"),
    ("run 2: a better model", "0.1,0.3,1"),
)
WAIT_SECONDS = 180


def headrace(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(BIN / "headrace"), *args], text=True, capture_output=True)
    if check and done.returncode != 0:
        print(done.stdout, end="")
        print(done.stderr, end="", file=sys.stderr)
        raise SystemExit(f"`headrace {' '.join(args)}` failed with exit code {done.returncode}")
    return done


def run_pipeline(title: str, c_grid: str) -> dict[str, Any]:
    """Submit the demo pipeline, watch it, and return the run; exits if it did not succeed."""
    print(f"\n== {title}: tune C over {c_grid}, train, evaluate, register, promote")
    submitted = headrace(
        "run",
        "submit",
        str(HERE / "demo_pipeline.py"),
        "-p",
        f"c_grid={c_grid}",
        "--name",
        f"demo: {title}",
        "--json",
    )
    run_id = json.loads(submitted.stdout)["run_id"]
    watched = subprocess.run([str(BIN / "headrace"), "run", "watch", run_id], text=True)
    run: dict[str, Any] = json.loads(headrace("run", "get", run_id, "--json").stdout)
    if run["state"] != "SUCCEEDED" or watched.returncode != 0:
        raise SystemExit(f"run {run_id} ended {run['state']}: {run.get('error', '')}")
    print(f"run {run_id} SUCCEEDED: {run['output_parameters']['Output']}")
    return run


def production_version() -> int:
    model = json.loads(headrace("model", "get", MODEL, "--json").stdout)
    version = model["aliases"].get("production")
    if version is None:
        raise SystemExit(f"{MODEL} has no production version: `headrace model versions {MODEL}`")
    return int(version)


def service_view() -> dict[str, Any] | None:
    shown = headrace("serve", "get", SERVICE, "--json", check=False)
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def stable_version(view: dict[str, Any]) -> str:
    """The model version of the revision that has all the traffic and is ready ('' if none)."""
    full = [t for t in view["traffic"] if t["percent"] == 100 and t["ready"]]
    if view["state"] != "Ready" or not full:
        return ""
    revision = next((r for r in view["revisions"] if r["name"] == full[0]["revision"]), None)
    return str(revision["model_version"]) if revision else ""


def wait_serving(version: int) -> dict[str, Any]:
    """Until the service is Ready with all its traffic on ``version``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        view = service_view()
        if view is not None and view["state"] == "Failed":
            raise SystemExit(f"{SERVICE} failed: {view['error']}")
        if view is not None and stable_version(view) == str(version):
            break
        if time.monotonic() > deadline:
            raise SystemExit(
                f"{SERVICE} does not serve version {version} after {WAIT_SECONDS}s: see "
                f"`headrace serve get {SERVICE}` and the logs in {HOME / 'logs'}"
            )
        time.sleep(0.5)
    return view


class Traffic(threading.Thread):
    """Sends ``row`` to the service again and again, and remembers which version answered
    each request (``failed`` for a request that got no answer), in order."""

    def __init__(self, url: str, row: list[float]) -> None:
        super().__init__(daemon=True)
        self.url, self.row = url, row
        self.answers: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            answer = infer(self.url, self.row, check=False)
            self.answers.append(str(answer["model_version"]) if answer else "failed")

    def answered_by(self, version: int, timeout: float = 30.0) -> None:
        """Until a request has been answered by ``version`` (at most ``timeout`` seconds):
        the service may serve it a moment before the next request goes out."""
        deadline = time.monotonic() + timeout
        while str(version) not in self.answers and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop sending; the answers as runs of one version: "version 1 x 212, version 2 x 40"."""
        self.done.set()
        self.join()
        runs: list[list[Any]] = []
        for version in self.answers:
            if runs and runs[-1][0] == version:
                runs[-1][1] += 1
            else:
                runs.append([version, 1])
        return ", then ".join(f"version {v} x {n}" for v, n in runs) or "none"


def feature_row(run: dict[str, Any]) -> tuple[list[float], str]:
    """The first row of the run's held-out test split (its features, its label)."""
    prepare = next(s for s in run["steps"] if s["step_id"] == "prepare")
    uri = prepare["output_artifacts"]["test_data"][0]["uri"]
    if not uri.startswith("file://"):
        raise SystemExit(f"the demo reads the test split from a local artifact store, not {uri}")
    lines = Path(uri.removeprefix("file://")).read_text().splitlines()
    values = [float(v) for v in lines[1].split(",")]
    return values[:-1], "benign" if values[-1] == 1 else "malignant"


def request_body(row: list[float]) -> dict[str, Any]:
    return {
        "inputs": [{"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}]
    }


def infer(url: str, row: list[float], *, check: bool = True) -> dict[str, Any] | None:
    request = urllib.request.Request(
        f"{url}/v2/models/{SERVICE}/infer",
        data=json.dumps(request_body(row)).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except (urllib.error.URLError, OSError) as error:
        if check:
            raise SystemExit(f"POST {url}/v2/models/{SERVICE}/infer failed: {error}") from None
        return None


def print_traffic(view: dict[str, Any]) -> None:
    versions = {r["name"]: r["model_version"] for r in view["revisions"]}
    print(f"  {'REVISION':<34} {'MODEL VERSION':<14} {'PERCENT':<8} READY")
    for entry in view["traffic"]:
        revision = entry["revision"]
        version = versions.get(revision, "?")
        print(f"  {revision:<34} {version!s:<14} {entry['percent']:<8} {entry['ready']}")


def main() -> None:
    print(headrace("up", "--detach").stdout, end="")
    first = run_pipeline(*RUNS[0])
    version = production_version()
    print(f"{MODEL}@production is version {version}")

    print(f"\n== serve it: headrace apply -f {ISVC.relative_to(HERE.parent)}")
    print(headrace("apply", "-f", str(ISVC)).stdout, end="")
    view = wait_serving(version)
    url = view["url"]
    row, label = feature_row(first)
    body = json.dumps(request_body(row))
    print(f"{SERVICE} is Ready at {url}, serving version {version}:")
    print_traffic(view)
    print(f"\na held-out row (a {label} tumour), asked with curl:\n")
    print(
        "  curl -s -H 'Content-Type: application/json' "
        f"{url}/v2/models/{SERVICE}/infer -d {shlex.quote(body)}\n"
    )
    answer = infer(url, row)
    print(f"answer: {json.dumps(answer)}")

    traffic = Traffic(url, row)
    traffic.start()  # requests all through run 2 and the rollout it starts
    run_pipeline(*RUNS[1])
    better = production_version()
    print(f"{MODEL}@production is version {better}: {SERVICE} rolls to it")
    after = wait_serving(better)
    traffic.answered_by(better)
    print("\nrequests sent during run 2 and the rollout, by the version that answered them:")
    print(f"  {traffic.stop()}")
    print(f"\ntraffic before (version {version}):")
    print_traffic(view)
    print(f"traffic after (version {better}):")
    print_traffic(after)
    answer = infer(after["url"], row)
    print(f"answer now: {json.dumps(answer)}")

    print(
        "\nlook further:\n"
        f"  .venv/bin/headrace serve get {SERVICE}             # revisions, traffic, replicas\n"
        f"  .venv/bin/headrace model versions {MODEL}          # versions, metrics, aliases\n"
        f"  .venv/bin/headrace model promote {MODEL} {version} --alias production   # roll back\n"
        "  .venv/bin/headrace run list                                # the two runs\n"
        f"  .venv/bin/headrace serve delete {SERVICE}\n"
        f"  platform home {HOME} (logs in {HOME / 'logs'}); stop it: .venv/bin/headrace down"
    )


if __name__ == "__main__":
    main()
