"""The parsed-state cache: trusted only for the stored text it was saved as, bounded by
the number of nodes it holds (many small runs or one large)."""

from headrace_scheduler.state import Node, RunState
from headrace_scheduler.store import StateCache


def run_of(run_id: str, nodes: int) -> RunState:
    run = RunState(run_id=run_id)
    for i in range(nodes):
        run.add_node(Node(id=f"n{i}", task="t", kind="container", scope="", component="c"))
    return run


def test_a_cached_state_is_trusted_only_while_the_stored_document_is_the_same() -> None:
    cache = StateCache()
    run = run_of("a", 2)
    cache.put("a", '{"revision":"1"}', run)
    assert cache.get("a", '{"revision":"1"}') is run
    assert cache.get("a", '{"revision":"2"}') is None
    cache.drop("a")
    assert cache.get("a", '{"revision":"1"}') is None


def test_the_least_recently_used_runs_go_once_the_nodes_exceed_the_bound() -> None:
    cache = StateCache(max_nodes=30)
    for name in ("a", "b", "c"):
        cache.put(name, name, run_of(name, 9))  # 10 each, counting the run itself
    assert cache.get("a", "a") is not None  # now the most recently used
    cache.put("d", "d", run_of("d", 4))
    assert [n for n in "abcd" if cache.get(n, n) is not None] == ["a", "c", "d"]
    big = run_of("big", 100)
    cache.put("big", "big", big)  # larger than the bound alone: kept, the others go
    assert [n for n in "abcd" if cache.get(n, n) is not None] == []
    assert cache.get("big", "big") is big


def test_saving_a_run_again_counts_its_nodes_once() -> None:
    cache = StateCache(max_nodes=25)
    run = run_of("a", 9)
    for revision in "123":
        cache.put("a", revision, run)
    cache.put("b", "b", run_of("b", 9))
    assert cache.get("a", "3") is run
