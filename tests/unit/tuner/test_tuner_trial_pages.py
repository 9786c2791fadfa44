"""The tuner's answers about a long experiment (SQLite, no broker): trials come a page at a
time however many there are, and a request for all of them at once past one reply's worth is
refused saying how to page them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import InvalidRequestError
from sqlmodel import Session, SQLModel, create_engine

from headrace_contracts import ExperimentDetail, GetExperiment, ListTrials, TrialList
from headrace_contracts.tuning_views import TRIALS_IN_ONE_REPLY
from headrace_tuner.experiments.store import ExperimentRow, TrialRow, trials_page
from headrace_tuner.handlers import TunerHandlers

TRIALS = TRIALS_IN_ONE_REPLY + 1
SPEC = {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment", "metadata": {"name": "long"}}


@pytest.fixture
def handlers(tmp_path: Path) -> Iterator[TunerHandlers]:
    engine = create_engine(f"sqlite:///{tmp_path / 'tuner.db'}")
    SQLModel.metadata.create_all(engine, tables=[ExperimentRow.__table__, TrialRow.__table__])  # type: ignore[list-item]
    with Session(engine) as session:
        session.add(
            ExperimentRow(
                experiment_id="default/long",
                uid="u",
                name="long",
                spec=SPEC,
                objective_type="minimize",
                objective_metric="loss",
                objectives=[["loss", "minimize"]],
            )
        )
        for number in range(TRIALS):
            session.add(
                TrialRow(
                    experiment_id="default/long",
                    number=number,
                    name=f"long-{number}",
                    job_id=f"default/long-{number}",
                    state="SUCCEEDED",
                    objective_value=float(TRIALS - number),
                )
            )
        session.commit()
    yield TunerHandlers(lambda _: None, lambda: Session(engine))
    engine.dispose()


def trials(handlers: TunerHandlers, **query: object) -> TrialList:
    return asyncio.run(handlers.trials(ListTrials(name="long", **query)))  # type: ignore[arg-type]


def experiment(handlers: TunerHandlers, *, with_trials: bool) -> ExperimentDetail:
    return asyncio.run(handlers.get(GetExperiment(name="long", trials=with_trials)))


def test_trials_come_a_page_at_a_time_in_number_order(handlers: TunerHandlers) -> None:
    first = trials(handlers)
    assert [t.number for t in first.trials] == list(range(TRIALS_IN_ONE_REPLY))
    assert first.more
    rest = trials(handlers, after=first.trials[-1].number)
    assert [t.number for t in rest.trials] == [TRIALS_IN_ONE_REPLY]
    assert not rest.more
    small = trials(handlers, after=10, limit=3)
    assert ([t.name for t in small.trials], small.more) == (
        ["long-11", "long-12", "long-13"],
        True,
    )
    assert trials(handlers, after=TRIALS).trials == []


def test_trials_of_an_unknown_experiment_say_so(handlers: TunerHandlers) -> None:
    reply = asyncio.run(handlers.trials(ListTrials(name="short", namespace="team-a")))
    assert reply.error == "no experiment 'short' in namespace 'team-a'"
    assert reply.trials == []


def test_the_whole_experiment_past_one_reply_is_refused_naming_the_way_to_page(
    handlers: TunerHandlers,
) -> None:
    whole = experiment(handlers, with_trials=True)
    assert whole.experiment is None
    assert whole.error == (
        f"experiment default/long has more than {TRIALS_IN_ONE_REPLY} trials, too many for "
        "one reply: ask for it without its trials and page them with ListTrials "
        "(`headrace experiment trials` does)"
    )
    summary = experiment(handlers, with_trials=False).experiment
    assert summary is not None
    assert (summary.trials_created, summary.trials_succeeded) == (TRIALS, TRIALS)
    assert summary.trials == []
    assert summary.spec == SPEC
    assert summary.best_trial is not None
    assert summary.best_trial.number == TRIALS - 1


def test_a_page_leaves_every_observation_unread(tmp_path: Path) -> None:
    """A page is for views: the metric summaries and the objective by step (which grows with
    every step reported) are not decoded, and code that reads them from a page's rows is
    stopped, not slowed by a query per row."""
    engine = create_engine(f"sqlite:///{tmp_path / 'lean.db'}")
    SQLModel.metadata.create_all(engine, tables=[TrialRow.__table__])  # type: ignore[list-item]
    with Session(engine) as session:
        session.add(
            TrialRow(
                experiment_id="default/lean",
                number=0,
                name="lean-0",
                job_id="default/lean-0",
                parameters={"lr": "0.1"},
                observed={"loss": {"min": 0.002, "max": 1.0, "latest": 0.002, "count": 500}},
                intermediate={str(step): 1.0 / (step + 1) for step in range(500)},
                metrics={"loss": 0.002},
            )
        )
        session.commit()
    with Session(engine) as session:
        [row] = trials_page(session, "default/lean", -1, 10)
        assert (row.parameters, row.metrics) == ({"lr": "0.1"}, {"loss": 0.002})
        with pytest.raises(InvalidRequestError, match="observed"):
            _ = row.observed
        with pytest.raises(InvalidRequestError, match="intermediate"):
            _ = row.intermediate
    engine.dispose()
