"""Small kfp pipelines the schedule tests run (compiled with the real kfp SDK)."""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl


@dsl.component(base_image="python:3.11")
def echo(n: int) -> int:
    return n


@dsl.pipeline(name="tick-pipeline")
def ticked(n: int) -> int:
    """Needs ``n``: a schedule without it is refused."""
    return echo(n=n).output


@dsl.component(base_image="python:3.11")
def wait_for(gate: str) -> str:
    import os
    import time

    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    return gate


@dsl.pipeline(name="gated-pipeline")
def gated(gate: str) -> str:
    """Runs until the file ``gate`` exists."""
    return wait_for(gate=gate).output


@dsl.component(base_image="python:3.11")
def add(a: int, b: int) -> int:
    return a + b


@dsl.pipeline(name="pair-pipeline")
def paired(a: int, b: int, c: int = 1) -> int:
    """Needs ``a`` and ``b``."""
    return add(a=a, b=b).output
