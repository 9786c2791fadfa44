"""Headrace's model server against KServe's Python ModelServer, on the same model.

Both serve the same scikit-learn LogisticRegression (20 features) on 127.0.0.1; Headrace's
twice: as it starts by default, and with adaptive batching (``--max-batch-size 32
--max-latency 0``, which merges only requests that arrive together). Each is loaded with
single-row requests by ``wrk`` (Debian's; a process of its own) at concurrency 1 and 32, on
KServe v1 (``/v1/models/lr:predict``) and the Open Inference Protocol v2
(``/v2/models/lr/infer``). For each it prints requests/second, p50 and p99, and the ratios
Headrace / KServe. KServe runs from its own environment, ``.bench-venv/kserve`` (created
with ``pip install kserve scikit-learn`` on the first run; never part of ``make setup``).

    .venv/bin/python bench/modelserver.py [--seconds 10] [--workers 1] [--max-batch-size 32]
        [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
KSERVE_VENV = ROOT / ".bench-venv" / "kserve"
KSERVE_SERVE = Path(__file__).resolve().parent / "modelserver_kserve" / "serve.py"
FEATURES = 20
ROW = [round(0.05 * i, 2) for i in range(FEATURES)]
BODIES = {
    "v1": ("/v1/models/lr:predict", json.dumps({"instances": [ROW]})),
    "v2": (
        "/v2/models/lr/infer",
        json.dumps(
            {
                "inputs": [
                    {"name": "input-0", "shape": [1, FEATURES], "datatype": "FP64", "data": ROW}
                ]
            }
        ),
    ),
}


def kserve_python() -> Path:
    python = KSERVE_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {KSERVE_VENV} (pip install kserve scikit-learn) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(KSERVE_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "kserve", "scikit-learn"], check=True
        )
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(command: list[str], port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while True:  # the server's own readiness endpoint says when it serves
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited:\n{log.read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/v2/models/lr/ready", timeout=2) as answer,
            ):
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(
    url: str, path: str, body: str, concurrency: int, seconds: int, folder: Path
) -> dict[str, float]:
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    threads = 1 if concurrency == 1 else 2
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(concurrency),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        str(script),
        url + path,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers from {url}{path}:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per measurement")
    parser.add_argument("--workers", type=int, default=1, help="Headrace worker processes")
    parser.add_argument(
        "--max-batch-size", type=int, default=32, help="of the run with adaptive batching"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    python = kserve_python()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        x = rng.random((1000, FEATURES))
        model = folder / "model.joblib"
        joblib.dump(LogisticRegression().fit(x, x[:, 0] > 0.5), model)
        headrace = [
            str(Path(sys.executable).parent / "headrace-model-server"),
            "--model-name", "lr", "--storage-uri", str(model), "--host", "127.0.0.1",
            "--workers", str(args.workers), "--log-level", "warning",
        ]  # fmt: skip
        batching = ["--max-batch-size", str(args.max_batch_size), "--max-latency", "0"]
        servers = {
            "headrace": lambda port: [*headrace, "--port", str(port)],
            "hr+batch": lambda port: [*headrace, "--port", str(port), *batching],
            "kserve": lambda port: [str(python), str(KSERVE_SERVE), str(model), "lr", str(port)],
        }
        # All three run at once (idle but for the one being loaded), and each case measures
        # them back to back, so a change in the machine's load weighs on all alike.
        with contextlib.ExitStack() as stack:
            urls = {}
            for name, command in servers.items():
                port = free_port()
                log = folder / f"{name}.log"
                urls[name] = stack.enter_context(serving(command(port), port, log))
            for protocol, (path, body) in BODIES.items():
                for url in urls.values():
                    wrk(url, path, body, 8, 2, folder)  # warm-up
                for concurrency in (1, 32):
                    key = f"{protocol} c={concurrency}"
                    for name, url in urls.items():
                        results.setdefault(key, {})[name] = wrk(
                            url, path, body, concurrency, args.seconds, folder
                        )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'case':<10}{'server':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for key, by_server in results.items():
        for name, r in by_server.items():
            print(f"{key:<10}{name:<10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}")
        k = by_server["kserve"]
        for name in ("headrace", "hr+batch"):
            h = by_server[name]
            label = "hr:ks" if name == "headrace" else "hr+b:ks"
            print(
                f"{'':<10}{label:<10}{h['rps'] / k['rps']:>9.2f}x"
                f"{h['p50_ms'] / k['p50_ms']:>9.2f}x{h['p99_ms'] / k['p99_ms']:>9.2f}x"
            )


if __name__ == "__main__":
    main()
