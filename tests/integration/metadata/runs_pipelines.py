"""Small kfp pipelines whose runs the read model records (compiled with the real kfp SDK)."""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
from kfp import dsl


@dsl.component(base_image="python:3.11")
def double(x: int) -> int:
    return 2 * x


@dsl.component(base_image="python:3.11")
def explode(x: int) -> int:
    raise SystemExit(f"cannot take {x}")


@dsl.pipeline(name="doubling")
def doubling(x: int) -> int:
    return double(x=double(x=x).output).output


@dsl.pipeline(name="exploding")
def exploding(x: int) -> int:
    first = double(x=x)
    return explode(x=first.output).output
