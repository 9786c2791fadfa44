"""A started service's heap: frozen once, the young generation collected less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from headrace_runtime import settle_heap
from headrace_runtime.heap import YOUNG_THRESHOLD


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_settle_heap_freezes_what_lives_and_still_collects_cycles() -> None:
    _, middle, old = gc.get_threshold()
    frozen = gc.get_freeze_count()
    settle_heap()
    assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)

    class Node:
        other: object = None

    first, second = Node(), Node()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2  # a cycle made after settling is collected
