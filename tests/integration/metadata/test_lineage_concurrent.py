"""Two replicas recording messages that name the same new rows at the same time: both
commit, nothing is lost, nothing doubled (PostgreSQL; SQLite has one writer at a time)."""

from __future__ import annotations

import threading

import pytest
from lineage_events import Store
from sqlmodel import Session, select

from headrace_contracts import StepStarted, StepSucceeded
from headrace_metadata.lineage.apply import apply_facts
from headrace_metadata.lineage.dump import dump
from headrace_metadata.lineage.mapping import facts_for
from headrace_metadata.lineage.tables import LineageExecution


def test_two_transactions_creating_the_same_rows_both_count(store: Store) -> None:
    engine = store("concurrent")
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second writer waits, or fails and is retried")
    started = StepStarted(run_id="r", step_id="train", worker="trainer-0")
    succeeded = StepSucceeded(run_id="r", step_id="train", duration_seconds=2.0)
    first = Session(engine)
    apply_facts(first, facts_for(started))  # holds its new rows, uncommitted
    done = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with Session(engine) as session:
                apply_facts(session, facts_for(succeeded))  # waits for the first
                session.commit()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(0.5), "the second transaction did not wait for the first one's rows"
    first.commit()
    first.close()
    thread.join(10)
    assert errors == []
    with Session(engine) as session:
        rows = dump(session)
        execution = session.exec(select(LineageExecution)).one()
    assert (execution.state, execution.properties) == (
        "COMPLETE",
        {"backend": "local", "worker": "trainer-0", "duration_seconds": 2.0},
    )
    assert len(rows["lineage_contexts"]) == 1
    assert len(rows["lineage_associations"]) == 1
