"""Scheduler cost at scale: wide ParallelFor loops and many concurrent runs on `headrace up`.

Shapes, all of trivial steps so that the time measured is orchestration:

    loop N   dsl.ParallelFor over list(range(N)) of add(x) -> x + 1, fanned in with
             dsl.Collected into total(xs) -> sum(xs); N + 1 steps      (N = 100, 1000, 10000)
    runs M   M runs of a 3-step chain inc(inc(inc(x))) submitted at once  (M = 1000)

For each: wall time from submit to the (last) run's end, time per iteration (per step for
the runs), and the scheduler's peak resident memory while that shape ran (VmHWM of its
process, reset before each shape through /proc/PID/clear_refs where the kernel allows).

Targets (issue 14): per-iteration time at 10,000 within 1.5x of that at 100; all runs
succeed; the scheduler's peak memory at 10,000 iterations under 500 MB.

    .venv/bin/python bench/scheduler_scale.py [--loops 100,1000,10000] [--runs 1000]
        [--no-caching] [--json]
"""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kfp import compiler, dsl

BASE_IMAGE = "python:3.11"


@dsl.component(base_image=BASE_IMAGE)
def add(x: int) -> int:
    return x + 1


@dsl.component(base_image=BASE_IMAGE)
def total(xs: list[int]) -> int:
    return int(sum(xs))


@dsl.component(base_image=BASE_IMAGE)
def inc(x: int) -> int:
    return x + 1


def loop_pipeline(n: int) -> Any:
    @dsl.pipeline(name=f"scale-loop-{n}")
    def loop() -> int:
        with dsl.ParallelFor(items=list(range(n))) as item:
            step = add(x=item)
        return total(xs=dsl.Collected(step.output)).output

    return loop


@dsl.pipeline(name="scale-chain-3")
def chain3(x: int) -> int:
    return inc(x=inc(x=inc(x=x).output).output).output


def compiled(pipeline: Any) -> dict[str, Any]:
    import yaml

    with tempfile.TemporaryDirectory(prefix="headrace-bench-compile-") as folder:
        target = Path(folder) / "pipeline.yaml"
        compiler.Compiler().compile(pipeline, str(target))
        spec: dict[str, Any] = yaml.safe_load(target.read_text())
    return spec


# --- the scheduler's memory ----------------------------------------------------------------


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS (Linux >= 4.0); False when the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- results -------------------------------------------------------------------------------


@dataclass
class Result:
    shape: str
    units: int
    unit: str
    wall_s: float
    peak_mb: float
    ok: bool
    note: str = ""

    @property
    def per_unit_ms(self) -> float:
        return self.wall_s / self.units * 1000


def headrace_cli() -> str:
    beside = Path(sys.executable).parent / "headrace"
    return str(beside) if beside.exists() else "headrace"


def scheduler_pid(cli: str, home: str) -> tuple[str, int]:
    status = subprocess.run(
        [cli, "status", "--home", home, "--json"], capture_output=True, text=True, check=True
    )
    found = json.loads(status.stdout)
    instances = found["services"]["scheduler"]["instances"]
    if len(instances) != 1:
        raise RuntimeError(f"expected one scheduler replica, status shows {instances}")
    return found["nats_url"], int(instances[0]["pid"])


@dataclass
class Waiter:
    """client.wait that rides out a scheduler too busy to answer GetRun in time, counting
    each time it did not answer (a figure of its own: GetRun should never wait on steps)."""

    client: Any
    unanswered: int = 0

    def submit(
        self, spec: dict[str, Any], run_id: str, caching: bool, arguments: dict[str, Any]
    ) -> str:
        """Submit; a scheduler too busy to say it took the run up (starting a large run is
        one transaction) is waited for by :meth:`wait`."""
        from headrace.client import PlatformUnavailable

        try:
            submitted = self.client.submit(spec, arguments, run_id=run_id, enable_caching=caching)
            return str(submitted)
        except PlatformUnavailable:
            self.unanswered += 1
            return run_id

    def wait(self, run_id: str, timeout: float) -> Any:
        from headrace.client import PlatformUnavailable, RunNotFound

        deadline = time.monotonic() + timeout
        while True:
            try:
                left = max(1.0, deadline - time.monotonic())
                return self.client.wait(run_id, timeout=left, steps=False)
            except (PlatformUnavailable, RunNotFound):
                self.unanswered += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def unanswered_note(waiter: Waiter) -> str:
    return f"GetRun unanswered within 5 s {waiter.unanswered}x" if waiter.unanswered else ""


def measure_loop(client: Any, pid: int, n: int, caching: bool) -> Result:
    spec = compiled(loop_pipeline(n))
    peak_reset = reset_peak(pid)
    start = time.perf_counter()
    waiter = Waiter(client)
    run_id = waiter.submit(spec, f"scale-loop-{n}-{uuid.uuid4().hex[:8]}", caching, {})
    run = waiter.wait(run_id, timeout=max(600.0, n * 1.0))
    wall = time.perf_counter() - start
    peak = status_kb(pid, "VmHWM") / 1024
    # total() sums every iteration's output: the right sum shows each of the N ran once
    output = run.output_parameters.get("Output")
    ok = run.state == "SUCCEEDED" and output == n * (n + 1) // 2
    note = "" if ok else f"run {run_id} {run.state}, output {output}, error {run.error!r}"
    note += " " + unanswered_note(waiter)
    if not peak_reset:
        note += " (peak since the scheduler started: the kernel refused to reset it)"
    return Result(f"ParallelFor x{n} + Collected", n, "iteration", wall, peak, ok, note.strip())


def measure_runs(client: Any, pid: int, m: int, caching: bool) -> Result:
    spec = compiled(chain3)
    peak_reset = reset_peak(pid)
    start = time.perf_counter()
    waiter = Waiter(client)
    tag = uuid.uuid4().hex[:8]
    run_ids = [waiter.submit(spec, f"scale-chain-{tag}-{i}", caching, {"x": i}) for i in range(m)]
    runs = [waiter.wait(run_id, timeout=1800) for run_id in run_ids]
    wall = time.perf_counter() - start
    peak = status_kb(pid, "VmHWM") / 1024
    good = [
        r
        for i, r in enumerate(runs)
        if r.state == "SUCCEEDED" and r.output_parameters.get("Output") == i + 3
    ]
    ok = len(good) == m
    note = "" if ok else f"{m - len(good)} of {m} runs did not succeed with the right output"
    note += " " + unanswered_note(waiter)
    if not peak_reset:
        note += " (peak since the scheduler started: the kernel refused to reset it)"
    return Result(f"{m} runs of a 3-step chain", 3 * m, "step", wall, peak, ok, note.strip())


def run_all(loops: list[int], runs: int, caching: bool) -> list[Result]:
    from headrace.client import Client

    cli = headrace_cli()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="headrace-bench-scale-") as home:
        up = subprocess.run(
            [cli, "up", "--home", home, "--detach"], capture_output=True, text=True, check=False
        )
        if up.returncode != 0:
            raise RuntimeError(f"`headrace up` failed ({up.returncode}):\n{up.stdout}{up.stderr}")
        try:
            nats_url, pid = scheduler_pid(cli, home)
            with Client(nats_url=nats_url) as client:
                client.wait(client.submit(compiled(chain3), {"x": 0}), timeout=120)  # warm-up
                for n in loops:
                    results.append(measure_loop(client, pid, n, caching))
                    print_result(results[-1], flush=True)
                if runs:
                    results.append(measure_runs(client, pid, runs, caching))
                    print_result(results[-1], flush=True)
        finally:
            subprocess.run([cli, "down", "--home", home], check=False, capture_output=True)
    return results


def print_header() -> None:
    print(f"{'shape':<34}{'units':>7}{'wall s':>10}{'ms per unit':>14}{'peak MB':>10}  result")


def print_result(result: Result, *, flush: bool = False) -> None:
    check = "ok" if result.ok else f"WRONG ({result.note})"
    if result.ok and result.note:
        check += f" {result.note}"
    print(
        f"{result.shape:<34}{result.units:>7}{result.wall_s:>10.1f}"
        f"{result.per_unit_ms:>9.1f}/{result.unit[:4]:<4}{result.peak_mb:>10.0f}  {check}",
        flush=flush,
    )


def verdicts(results: list[Result]) -> list[str]:
    loops = {r.units: r for r in results if r.unit == "iteration" and r.ok}
    lines = []
    smallest, largest = min(loops, default=0), max(loops, default=0)
    if smallest and largest > smallest:
        ratio = loops[largest].per_unit_ms / loops[smallest].per_unit_ms
        lines.append(f"per iteration at {largest} / at {smallest}: {ratio:.2f}x (target <= 1.5x)")
    if largest:
        lines.append(
            f"scheduler peak at {largest} iterations: {loops[largest].peak_mb:.0f} MB "
            "(target < 500 MB)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", default="100,1000,10000", help="ParallelFor widths")
    parser.add_argument("--runs", type=int, default=1000, help="concurrent 3-step runs (0: none)")
    parser.add_argument("--no-caching", action="store_true", help="submit with caching off")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = parser.parse_args()
    try:
        loops = [int(n) for n in args.loops.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--loops {args.loops!r}: give widths as integers, e.g. 100,1000")
    if any(n < 1 for n in loops) or args.runs < 0:
        parser.error("--loops widths must be at least 1 and --runs at least 0")
    caching = not args.no_caching
    print(f"{os.cpu_count()} CPUs; caching {'on' if caching else 'off'}; warmed up with one run")
    print_header()
    results = run_all(loops, args.runs, caching)
    for line in verdicts(results):
        print(line)
    if args.json:
        payload = [{**asdict(r), "per_unit_ms": r.per_unit_ms} for r in results]
        print(json.dumps({"cpu_count": os.cpu_count(), "results": payload}, indent=2))
    if not all(r.ok for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
