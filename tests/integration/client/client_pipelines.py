"""Small kfp pipelines the client tests submit (compiled with the real kfp SDK)."""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
from pathlib import Path

from kfp import dsl

PIPELINE_PY = Path(__file__)


@dsl.component(base_image="python:3.11")
def add(a: int, b: int) -> int:
    print(f"adding {a} and {b}")
    return a + b


@dsl.pipeline(name="sum-pipeline")
def summed(n: int, m: int = 2) -> int:
    """``(n + m) + 10``, in two steps."""
    first = add(a=n, b=m)
    return add(a=first.output, b=10).output
