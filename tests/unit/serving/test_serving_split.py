"""The router's traffic split, without a router: exact percentages, readiness gating."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from headrace_serving import Traffic
from headrace_serving.router.split import Split


@dataclass
class Rev:
    name: str
    routable: bool = True
    failure: str | None = None


def run(traffic: Traffic, revisions: dict[str, Rev], count: int = 1000) -> Counter[str]:
    split = Split()
    seen: Counter[str] = Counter()
    for _ in range(count):
        choice = split.choose(traffic, revisions)
        seen[choice.name if isinstance(choice, Rev) else repr(choice)] += 1
    return seen


@pytest.mark.parametrize("percent", [0, 1, 20, 50, 99, 100])
def test_canary_gets_exactly_its_percentage(percent: int) -> None:
    revisions = {"a": Rev("a"), "b": Rev("b")}
    seen = run(Traffic(stable="a", canary="b", canary_percent=percent), revisions)
    assert seen["b"] == 10 * percent
    assert seen["a"] == 1000 - 10 * percent


def test_a_canary_that_cannot_serve_gets_nothing() -> None:
    loading = {"a": Rev("a"), "b": Rev("b", routable=False)}
    assert run(Traffic(stable="a", canary="b", canary_percent=50), loading) == {"a": 1000}
    failed = {"a": Rev("a"), "b": Rev("b", routable=False, failure="b failed: no file")}
    assert run(Traffic(stable="a", canary="b", canary_percent=50), failed) == {"a": 1000}


def test_without_a_stable_revision_that_can_serve() -> None:
    failed = {"a": Rev("a", routable=False, failure="a failed: corrupt")}
    assert run(Traffic(stable="a"), failed, 3) == {"'a failed: corrupt'": 3}
    # The canary takes everything rather than a request failing.
    revisions = {**failed, "b": Rev("b")}
    assert run(Traffic(stable="a", canary="b", canary_percent=10), revisions) == {"b": 1000}
    # Nothing yet (a revision still to come): wait.
    assert run(Traffic(stable=None), {}, 2) == {"None": 2}
    assert run(Traffic(stable="c"), {}, 2) == {"None": 2}
