"""Pipeline overhead: the same KFP v2 pipelines on Headrace and on kfp.local, in one run.

Two shapes of trivial steps, so that all the time measured is orchestration:

    chain  N steps in a row, add(x) -> x + 1 each fed the previous output      (N = 20)
    fan    dsl.ParallelFor over list(range(N)) of add, fanned in with
           dsl.Collected into total(xs) -> sum(xs); N + 1 steps                  (N = 100)

Contenders, each given one unmeasured warm-up run first:

    headrace              `headrace up` in a temporary home; headrace.client submits the
                          pipeline with caching off and waits for the run
    kfp.local default     SubprocessRunner(use_venv=False) with @dsl.component as written:
                          every step first runs `python -m pip install kfp==... --no-deps`
    kfp.local no-install  the same with @dsl.component(install_kfp_package=False)

kfp.local runs each configuration in its own process (its configuration is global). A uv
`.venv` has no pip, so the default configuration then runs under a throwaway venv that has
pip and a .pth file pointing at this interpreter's site-packages: pip finds kfp installed
and downloads nothing, which is what the check costs in any ordinary environment.

Per-step overhead = (wall time - time inside the user functions) / steps executed; the user
functions are timed in-process and come to microseconds.

    .venv/bin/python bench/pipelines.py [--quick] [--skip-kfp-default] [--skip-headrace] [--json]
"""

# kfp ships no type information, and a pipeline function returns a channel that stands for
# its declared type. No `from __future__ import annotations`: kfp reads the annotations.
# mypy: disable-error-code="untyped-decorator,no-any-return"
import argparse
import json
import os
import site
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kfp import dsl

BASE_IMAGE = "python:3.11"
HEADRACE = "headrace"
KFP_DEFAULT = "kfp.local default"
KFP_NO_INSTALL = "kfp.local no-install"
KFP_CONFIGS = {"default": KFP_DEFAULT, "no-install": KFP_NO_INSTALL}

KFP_LOCAL_FAN_NOTE = (
    "kfp.local 2.16.1 runs ParallelFor (at most 2 iterations at a time) but no task may "
    "consume a loop (dsl.Collected, or .after(loop_task)): KeyError 'for-loop-N'. Emulated "
    "as ParallelFor whose dsl.Collected list is the pipeline output, then total() run as a "
    "single local component on it: same N + 1 steps and data flow, two calls instead of one."
)


# --- the user functions: trivially cheap, so the wall time is orchestration ---------------


def add(x: int) -> int:
    return x + 1


def total(xs: list[int]) -> int:
    return int(sum(xs))  # list items arrive as JSON numbers, floats on kfp.local


def user_seconds(shape: str, n: int) -> float:
    """The time the user functions of one run take, measured in this process."""
    start = time.perf_counter()
    if shape == "chain":
        x = 0
        for _ in range(n):
            x = add(x)
    else:
        total([add(i) for i in range(n)])
    return time.perf_counter() - start


def expected_output(shape: str, n: int) -> int:
    return n if shape == "chain" else n * (n + 1) // 2


# --- pipelines -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Components:
    add: Any
    total: Any


def components(install_kfp_package: bool) -> Components:
    def make(func: Callable[..., Any]) -> Any:
        return dsl.component(func, base_image=BASE_IMAGE, install_kfp_package=install_kfp_package)

    return Components(add=make(add), total=make(total))


def chain_pipeline(comps: Components, n: int) -> Any:
    @dsl.pipeline(name=f"bench-chain-{n}")
    def chain(start: int = 0) -> int:
        task = comps.add(x=start)
        for _ in range(n - 1):
            task = comps.add(x=task.output)
        return task.output

    return chain


def fan_pipeline(comps: Components, n: int) -> Any:
    """The real shape: fan out over a ParallelFor, fan in with dsl.Collected."""

    @dsl.pipeline(name=f"bench-fan-{n}")
    def fan() -> int:
        with dsl.ParallelFor(items=list(range(n))) as item:
            step = comps.add(x=item)
        return comps.total(xs=dsl.Collected(step.output)).output

    return fan


def fan_out_pipeline(comps: Components, n: int) -> Any:
    """What kfp.local can run of the fan: the loop, its Collected list as pipeline output."""

    @dsl.pipeline(name=f"bench-fan-out-{n}")
    def fan_out() -> list[int]:
        with dsl.ParallelFor(items=list(range(n))) as item:
            step = comps.add(x=item)
        return dsl.Collected(step.output)

    return fan_out


# --- results -------------------------------------------------------------------------------


@dataclass
class Result:
    shape: str
    runner: str
    steps: int
    wall_s: float
    user_s: float
    output: Any = None
    ok: bool = True
    note: str = ""

    @property
    def per_step_ms(self) -> float:
        return (self.wall_s - self.user_s) / self.steps * 1000 if self.steps else float("nan")


@dataclass
class Report:
    chain_n: int
    fan_n: int
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def shape_label(shape: str, n: int, runner: str) -> str:
    if shape == "chain":
        return f"chain x{n}"
    if runner == HEADRACE:
        return f"ParallelFor x{n} + Collected"
    return f"ParallelFor x{n}, total apart*"


# --- kfp.local -----------------------------------------------------------------------------


def kfp_local_worker(config: str, chain_n: int, fan_n: int, result_file: Path) -> None:
    """Run in a child process: measure both shapes on kfp.local, write JSON results."""
    from kfp import local

    runner = KFP_CONFIGS[config]
    comps = components(install_kfp_package=config == "default")
    with tempfile.TemporaryDirectory(prefix="kfp-local-bench-") as root:
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
        chain_pipeline(comps, 1)(start=0)  # warm-up, not measured

        start = time.perf_counter()
        out = chain_pipeline(comps, chain_n)(start=0).output
        chain = Result(
            "chain", runner, chain_n, time.perf_counter() - start, user_seconds("chain", chain_n)
        )
        chain.output, chain.ok = out, out == expected_output("chain", chain_n)

        start = time.perf_counter()
        collected = fan_out_pipeline(comps, fan_n)().output
        out = comps.total(xs=collected).output
        fan = Result(
            "fan", runner, fan_n + 1, time.perf_counter() - start, user_seconds("fan", fan_n)
        )
        fan.output, fan.ok, fan.note = out, out == expected_output("fan", fan_n), "emulated"
    result_file.write_text(json.dumps([asdict(chain), asdict(fan)]))


def has_pip(python: str) -> bool:
    probe = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, check=False)
    return probe.returncode == 0


def python_with_pip(workdir: Path) -> tuple[str, str]:
    """An interpreter that has pip and sees this environment's packages, and a note."""
    if has_pip(sys.executable):
        return sys.executable, ""
    env_dir = workdir / "pip-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "bench-parent-env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return str(python), (
        f"{sys.executable} has no pip (uv venv): kfp.local default ran under a throwaway venv "
        "with pip whose .pth points at this site-packages (pip finds kfp, downloads nothing)"
    )


def run_kfp_local(config: str, chain_n: int, fan_n: int, workdir: Path) -> tuple[list[Result], str]:
    note = ""
    python = sys.executable
    if config == "default":
        python, note = python_with_pip(workdir)
    result_file = workdir / f"kfp-{config}.json"
    log_file = workdir / f"kfp-{config}.log"
    command = [python, __file__, "--kfp-worker", config, "--result-file", str(result_file)]
    command += ["--chain", str(chain_n), "--fan", str(fan_n)]
    with log_file.open("w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        tail = "".join(log_file.read_text().splitlines(keepends=True)[-30:])
        raise RuntimeError(f"kfp.local {config} worker failed ({done.returncode}):\n{tail}")
    return [Result(**item) for item in json.loads(result_file.read_text())], note


# --- Headrace ------------------------------------------------------------------------------


def headrace_cli() -> str:
    beside = Path(sys.executable).parent / "headrace"
    return str(beside) if beside.exists() else "headrace"


def compiled(pipeline: Any) -> dict[str, Any]:
    """The pipeline's PipelineSpec as a dict, compiled with the kfp SDK."""
    import yaml
    from kfp import compiler

    with tempfile.TemporaryDirectory(prefix="headrace-bench-compile-") as folder:
        target = Path(folder) / "pipeline.yaml"
        compiler.Compiler().compile(pipeline, str(target))
        spec: dict[str, Any] = yaml.safe_load(target.read_text())
    return spec


def run_headrace(chain_n: int, fan_n: int, install_kfp_package: bool) -> list[Result]:
    from headrace.client import Client

    comps = components(install_kfp_package)
    cli = headrace_cli()
    with tempfile.TemporaryDirectory(prefix="headrace-bench-") as home:
        up = subprocess.run(
            [cli, "up", "--home", home, "--detach"], capture_output=True, text=True, check=False
        )
        if up.returncode != 0:
            raise RuntimeError(f"`headrace up` failed ({up.returncode}):\n{up.stdout}{up.stderr}")
        try:
            status = subprocess.run(
                [cli, "status", "--home", home, "--json"],
                capture_output=True,
                text=True,
                check=False,
            )
            nats_url = json.loads(status.stdout)["nats_url"]
            with Client(nats_url=nats_url) as client:

                def timed(shape: str, n: int, pipeline: Any, steps: int) -> Result:
                    # compiled before the clock starts: kfp.local gets no compile step either
                    spec = compiled(pipeline)
                    start = time.perf_counter()
                    run_id = client.submit(
                        spec,
                        arguments={"start": 0} if shape == "chain" else {},
                        enable_caching=False,
                    )
                    run = client.wait(run_id, timeout=600)
                    wall = time.perf_counter() - start
                    executed = sum(
                        1 for s in run.steps if s.kind == "container" and s.state == "SUCCEEDED"
                    )
                    outputs = list(run.output_parameters.values())
                    output = outputs[0] if len(outputs) == 1 else run.output_parameters
                    ok = run.state == "SUCCEEDED" and executed == steps
                    ok = ok and output == expected_output(shape, n)
                    note = "" if ok else f"run {run_id} {run.state}, {executed}/{steps} steps"
                    return Result(
                        shape=shape,
                        runner=HEADRACE,
                        steps=executed or steps,
                        wall_s=wall,
                        user_s=user_seconds(shape, n),
                        output=output,
                        ok=ok,
                        note=note,
                    )

                timed("chain", 1, chain_pipeline(comps, 1), 1)  # warm-up, not measured
                return [
                    timed("chain", chain_n, chain_pipeline(comps, chain_n), chain_n),
                    timed("fan", fan_n, fan_pipeline(comps, fan_n), fan_n + 1),
                ]
        finally:
            subprocess.run([cli, "down", "--home", home], check=False, capture_output=True)


# --- report --------------------------------------------------------------------------------


def find(report: Report, shape: str, runner: str) -> Result | None:
    return next((r for r in report.results if r.shape == shape and r.runner == runner), None)


def ratios(report: Report) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for shape in ("chain", "fan"):
        ours = find(report, shape, HEADRACE)
        if ours is None or not ours.ok:
            continue
        for runner in (KFP_DEFAULT, KFP_NO_INSTALL):
            theirs = find(report, shape, runner)
            if theirs is not None and theirs.ok:
                out.setdefault(shape, {})[f"{runner} / {HEADRACE}"] = (
                    theirs.per_step_ms / ours.per_step_ms
                )
    return out


def print_table(report: Report) -> None:
    print(f"{'pipeline':<32}{'runner':<22}{'steps':>6}{'wall s':>9}{'per step ms':>13}  output")
    for shape, n in (("chain", report.chain_n), ("fan", report.fan_n)):
        for result in report.results:
            if result.shape != shape:
                continue
            check = "ok" if result.ok else f"WRONG ({result.note})"
            print(
                f"{shape_label(shape, n, result.runner):<32}{result.runner:<22}"
                f"{result.steps:>6}{result.wall_s:>9.2f}{result.per_step_ms:>13.1f}  "
                f"{result.output} {check}"
            )
    for shape, values in ratios(report).items():
        text = ", ".join(f"{name} {value:.1f}x" for name, value in values.items())
        print(f"ratio per step, {shape}: {text}")
    for runner, why in report.skipped.items():
        print(f"skipped {runner}: {why}")
    if any(r.note == "emulated" for r in report.results):
        print(f"* {KFP_LOCAL_FAN_NOTE}")
    for note in report.notes:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="chain of 5, fan of 10")
    parser.add_argument("--chain", type=int, help="steps in the chain (default 20)")
    parser.add_argument("--fan", type=int, help="ParallelFor width (default 100)")
    parser.add_argument("--skip-kfp-default", action="store_true", help="it pip-checks per step")
    parser.add_argument("--skip-kfp-no-install", action="store_true")
    parser.add_argument("--skip-headrace", action="store_true")
    parser.add_argument(
        "--headrace-no-install",
        action="store_true",
        help="submit install_kfp_package=False components to Headrace (default: as written)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--kfp-worker", choices=sorted(KFP_CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    chain_n = args.chain or (5 if args.quick else 20)
    fan_n = args.fan or (10 if args.quick else 100)
    if args.kfp_worker:
        kfp_local_worker(args.kfp_worker, chain_n, fan_n, args.result_file)
        return

    report = Report(chain_n, fan_n)
    if args.skip_headrace:
        report.skipped[HEADRACE] = "--skip-headrace"
    else:
        try:
            report.results += run_headrace(chain_n, fan_n, not args.headrace_no_install)
        except ImportError as exc:
            report.skipped[HEADRACE] = f"no headrace.client yet ({exc})"
    with tempfile.TemporaryDirectory(prefix="bench-pipelines-") as tmp:
        for config, runner in KFP_CONFIGS.items():
            if getattr(args, f"skip_kfp_{config.replace('-', '_')}"):
                report.skipped[runner] = f"--skip-kfp-{config}"
                continue
            results, note = run_kfp_local(config, chain_n, fan_n, Path(tmp))
            report.results += results
            if note:
                report.notes.append(note)
    if args.json:
        payload = asdict(report)
        for item, result in zip(payload["results"], report.results, strict=True):
            item["per_step_ms"] = result.per_step_ms
        payload["ratios"] = ratios(report)
        payload["kfp_local_fan_note"] = KFP_LOCAL_FAN_NOTE
        payload["cpu_count"] = os.cpu_count()
        print(json.dumps(payload, indent=2))
    else:
        print(f"{os.cpu_count()} CPUs; caching off; each runner warmed up with one 1-step run")
        print_table(report)


if __name__ == "__main__":
    main()
