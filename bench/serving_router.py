"""The serving router's added latency: the same model server called directly and through a
`LocalFleet` router.

One scikit-learn LogisticRegression (20 features) is served twice on 127.0.0.1: by a
``headrace-model-server`` started directly, and by a revision of one replica behind an
InferenceService's router (this process, on uvloop). ``wrk`` (a process of its own) sends
the same single-row v2 infer request to both, at concurrency 1 and 32, back to back per
case (``--loop asyncio`` runs the router on the standard event loop); the script prints
p50 and p99 of each, the added latency (router minus direct) and the ratio.

    .venv/bin/python bench/serving_router.py [--seconds 10] [--loop uvloop|asyncio] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import uvloop
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sklearn.linear_model import LogisticRegression

from headrace_serving import LocalFleet, RevisionPlan, ServiceKey, Traffic
from headrace_serving.revisions.replica import Replica

FEATURES = 20
ROW = [round(0.05 * i, 2) for i in range(FEATURES)]
PATH = "/v2/models/lr/infer"
BODY = json.dumps(
    {"inputs": [{"name": "input-0", "shape": [1, FEATURES], "datatype": "FP64", "data": ROW}]}
)


class Events:
    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.failure = ""

    def revision_ready(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self.ready.set()

    def revision_failed(self, key: ServiceKey, revision: str, reason: str) -> None:
        self.failure = reason
        self.ready.set()

    def scaled(self, key: ServiceKey, revision: str, replicas: int) -> None:
        pass

    def logged(self, *args: Any) -> None:
        pass


async def wrk(url: str, concurrency: int, seconds: int, folder: Path) -> dict[str, float]:
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(BODY)}\n"
    )
    threads = 1 if concurrency == 1 else 2
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{seconds}s", "--latency",
        "-s", str(script), url + PATH, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out = (await process.communicate())[0].decode()
    if process.returncode != 0 or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk against {url} failed or got errors:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def bench(seconds: int, folder: Path) -> dict[str, dict[str, dict[str, float]]]:
    x = np.random.default_rng(0).random((1000, FEATURES))
    model = folder / "model.joblib"
    joblib.dump(LogisticRegression().fit(x, x[:, 0] > 0.5), model)
    plan = RevisionPlan(name="lr-predictor-00001", model_name="lr", storage_uri=str(model))
    # The direct server: a model-server process started the way the fleet starts a replica.
    direct = Replica("direct", 1, "127.0.0.1", folder / "direct.log")
    events = Events()
    # measured as the serving service measures it: every request counted and timed
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    fleet = LocalFleet(events, logs_dir=folder / "logs", meter=meters.get_meter("bench"))
    key = ServiceKey("default", "lr")
    try:
        failure = await direct.start(plan, 120)
        if failure is not None:
            raise RuntimeError(failure)
        router_url = await fleet.open_service(key)
        await fleet.start_revision(key, plan)
        await fleet.set_traffic(key, Traffic(stable=plan.name))
        await asyncio.wait_for(events.ready.wait(), 120)
        if events.failure:
            raise RuntimeError(events.failure)
        urls = {"direct": f"http://127.0.0.1:{direct.port}", "router": router_url}
        for url in urls.values():
            await wrk(url, 8, 2, folder)  # warm-up
        results: dict[str, dict[str, dict[str, float]]] = {}
        for concurrency in (1, 32):
            for name, url in urls.items():
                case = results.setdefault(f"c={concurrency}", {})
                before = resource.getrusage(resource.RUSAGE_SELF)
                case[name] = result = await wrk(url, concurrency, seconds, folder)
                if name == "router":  # this process is the router: its CPU time per request
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                    result["cpu_us"] = cpu / (result["rps"] * seconds) * 1e6
        return results
    finally:
        await fleet.aclose()
        await direct.stop()
        meters.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per measurement")
    parser.add_argument(
        "--loop", choices=["uvloop", "asyncio"], default="uvloop", help="the router's event loop"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        run = uvloop.run if args.loop == "uvloop" else asyncio.run
        results = run(bench(args.seconds, Path(tmp)))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'case':<8}{'target':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for case, by_target in results.items():
        for name, r in by_target.items():
            print(f"{case:<8}{name:<10}{r['rps']:>10.0f}{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}")
        d, r = by_target["direct"], by_target["router"]
        print(
            f"{'':<8}{'added':<10}{'':>10}{r['p50_ms'] - d['p50_ms']:>10.3f}"
            f"{r['p99_ms'] - d['p99_ms']:>10.3f}"
        )
        print(f"{'':<8}{'router CPU per request':<30}{r['cpu_us']:>10.1f} us")
        print(
            f"{'':<8}{'ratio':<10}{r['rps'] / d['rps']:>9.2f}x{r['p50_ms'] / d['p50_ms']:>9.2f}x"
            f"{r['p99_ms'] / d['p99_ms']:>9.2f}x"
        )


if __name__ == "__main__":
    main()
