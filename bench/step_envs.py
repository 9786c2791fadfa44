"""The cost of a per-step Python environment: the same one-step pipeline run twice on an
in-process platform (nats-server, scheduler and trainer in this process), caching off.

    platform env   the step asks for no packages: it runs in the platform's environment
    first          the step asks for packages_to_install=['headrace-bench-pkg']: the trainer
                   builds its environment with uv (offline, from a local find-links folder
                   holding a wheel made here), starts its fork server, runs the step
    cached         the same step again: the environment and its fork server are reused

Each figure is the run's wall time from submit to SUCCEEDED, and the environment's build time
as the trainer recorded it (``headrace env list``).

    .venv/bin/python bench/step_envs.py [--json]
"""

# kfp ships no type information; no `from __future__ import annotations`: kfp reads them.
# mypy: disable-error-code="untyped-decorator,no-any-return"
import argparse
import asyncio
import json
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from kfp import dsl

from headrace import Client
from headrace.natsserver import NatsServer
from headrace_contracts import EnvironmentList, ListEnvironments
from headrace_runtime import Service, Settings
from headrace_scheduler.app import build as build_scheduler
from headrace_testing.wheels import build_wheel
from headrace_trainer.app import build as build_trainer
from headrace_trainer.config import TrainerSettings

T = TypeVar("T")


@dsl.component(base_image="python:3.11")
def plain(x: int) -> int:
    return x + 1


@dsl.component(base_image="python:3.11", packages_to_install=["headrace-bench-pkg"])
def packaged(x: int) -> int:
    import headrace_bench_pkg

    return x + headrace_bench_pkg.STEP


@dsl.pipeline(name="bench-plain")
def plain_pipeline(x: int = 1) -> None:
    plain(x=x)


@dsl.pipeline(name="bench-packaged")
def packaged_pipeline(x: int = 1) -> None:
    packaged(x=x)


class Background:
    """An event loop in a thread, running the services."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def timed_run(client: Client, pipeline: Any) -> float:
    begun = time.perf_counter()
    run = client.wait(client.submit(pipeline, {"x": 1}, enable_caching=False), timeout=300)
    seconds = time.perf_counter() - begun
    if run.state != "SUCCEEDED":
        raise SystemExit(f"the run ended {run.state}: {run.error}")
    return seconds


async def build_seconds(service: Service) -> float:
    assert service.bus is not None
    reply = await service.bus.request(ListEnvironments(), timeout=10)
    assert isinstance(reply, EnvironmentList)
    (view,) = reply.environments
    return view.build_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wheels = root / "wheels"
        build_wheel(wheels, "headrace-bench-pkg", "1.0", "STEP = 1\n")
        server = NatsServer(store_dir=root / "nats").start()
        background = Background()
        services: list[Service] = []
        try:
            settings = Settings(home=root / "home", nats_url=server.url, log_level="WARNING")
            config = TrainerSettings(find_links=[str(wheels)], offline=True)
            for service in (build_scheduler(settings), build_trainer(settings, trainer=config)):
                background.run(service.start())
                services.append(service)
            with Client(nats_url=server.url, timeout=10) as client:
                timed_run(client, plain_pipeline)  # warm-up: imports, first run of the platform
                figures = {
                    "platform env": timed_run(client, plain_pipeline),
                    "first (builds)": timed_run(client, packaged_pipeline),
                    "cached": timed_run(client, packaged_pipeline),
                }
            built = background.run(build_seconds(services[-1]))
        finally:
            for service in reversed(services):
                background.run(service.stop())
            background.stop()
            server.stop()
    if args.json:
        print(json.dumps({**figures, "environment build": built}, indent=2))
        return
    print("one-step pipeline, run wall time (submit to SUCCEEDED), caching off:")
    for name, seconds in figures.items():
        print(f"  {name:<16} {seconds:6.3f} s")
    print(f"  of which the environment build (uv venv + uv pip install): {built:.3f} s")
    extra = figures["first (builds)"] - figures["cached"]
    print(f"  first step environment costs {extra:.3f} s more than a cached one; a cached one")
    print(f"  costs {figures['cached'] - figures['platform env']:+.3f} s against the platform's")


if __name__ == "__main__":
    main()
