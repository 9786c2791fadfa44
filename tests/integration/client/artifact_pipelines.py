"""A pipeline that takes an input artifact, for the CLI tests (a file of its own, so it is the
only pipeline in it)."""

# kfp reads the annotations: no `from __future__ import annotations`.
# mypy: disable-error-code="untyped-decorator,no-any-return"
from pathlib import Path

from kfp import dsl

ARTIFACT_PIPELINE_PY = Path(__file__)


@dsl.component(base_image="python:3.11")
def count_lines(data: dsl.Input[dsl.Dataset]) -> int:
    with open(data.path) as f:
        return len(f.read().splitlines())


@dsl.pipeline(name="lines")
def lines(data: dsl.Input[dsl.Dataset]) -> int:
    return count_lines(data=data).output
