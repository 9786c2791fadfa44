"""Revision names, the digest deciding when an apply makes a new revision, and the rollout
state machine between the stable and the canary revision (pure)."""

from __future__ import annotations

from typing import Any

from headrace_contracts.kubeflow import parse_inference_service
from headrace_serving.dataplane import Traffic
from headrace_serving.revisions import Rollout, predictor_digest, revision_name


def spec(**predictor: Any) -> Any:
    model = {"modelFormat": {"name": "sklearn"}, "storageUri": "models:/iris@production"}
    return parse_inference_service(
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "iris"},
            "spec": {"predictor": {"model": model, **predictor}},
        }
    )


def test_revision_names_are_numbered() -> None:
    assert revision_name("iris", 1) == "iris-predictor-00001"
    assert revision_name("iris", 12) == "iris-predictor-00012"


def test_the_canary_percent_alone_makes_no_new_revision() -> None:
    base = predictor_digest(spec(), "models:/iris/1")
    assert predictor_digest(spec(canaryTrafficPercent=20), "models:/iris/1") == base
    assert predictor_digest(spec(maxReplicas=3), "models:/iris/1") != base
    assert predictor_digest(spec(), "models:/iris/2") != base  # a new version


def test_the_first_revision_becomes_stable_even_with_a_canary_percent() -> None:
    created = Rollout().created("r1")
    assert created.rollout.pending == "r1"
    assert created.retired == ()
    ready = created.rollout.ready("r1", 20)
    assert ready.became == "stable"
    assert ready.rollout == Rollout(stable="r1")
    assert ready.rollout.traffic == Traffic(stable="r1")


def test_a_new_revision_with_a_percent_becomes_the_canary() -> None:
    rollout = Rollout(stable="r1").created("r2").rollout
    assert rollout.traffic == Traffic(stable="r1")  # not ready: no traffic yet
    ready = rollout.ready("r2", 20)
    assert ready.became == "canary"
    assert ready.retired == ()
    assert ready.rollout.traffic == Traffic(stable="r1", canary="r2", canary_percent=20)


def test_without_a_percent_the_new_revision_is_promoted_and_the_old_retired() -> None:
    ready = Rollout(stable="r1").created("r2").rollout.ready("r2", None)
    assert ready.became == "stable"
    assert ready.retired == ("r1",)
    assert ready.rollout == Rollout(stable="r2")


def test_100_promotes_and_0_rolls_back() -> None:
    canary = Rollout(stable="r1", canary="r2", canary_percent=20)
    promoted = canary.shift(100)
    assert promoted.rollout == Rollout(stable="r2")
    assert promoted.retired == ("r1",)
    rolled = canary.shift(0)
    assert rolled.rollout == Rollout(stable="r1")
    assert rolled.retired == ("r2",)
    moved = canary.shift(50)
    assert moved.rollout.traffic.canary_percent == 50
    assert moved.retired == ()
    assert Rollout(stable="r1").shift(50).rollout == Rollout(stable="r1")  # no canary


def test_a_newer_canary_replaces_the_old_one_and_a_superseded_pending_is_retired() -> None:
    rollout = Rollout(stable="r1", canary="r2", canary_percent=20)
    created = rollout.created("r3")
    again = created.rollout.created("r4")
    assert again.retired == ("r3",)
    ready = again.rollout.ready("r4", 20)
    assert ready.rollout.traffic == Traffic(stable="r1", canary="r4", canary_percent=20)
    assert ready.retired == ("r2",)


def test_a_failed_revision_leaves_traffic_where_it_was() -> None:
    rollout = Rollout(stable="r1").created("r2").rollout
    failed = rollout.failed("r2")
    assert failed.rollout == Rollout(stable="r1")
    assert failed.retired == ("r2",)
    canary = Rollout(stable="r1", canary="r2", canary_percent=30).failed("r2")
    assert canary.rollout == Rollout(stable="r1")
    assert Rollout(stable="r1").failed("r1").rollout == Rollout(stable="r1")


def test_repeated_and_unknown_reports_change_nothing() -> None:
    rollout = Rollout(stable="r1")
    assert rollout.ready("r1", None).rollout == rollout
    assert rollout.ready("r9", None).rollout == rollout
    assert rollout.created("r1").rollout == rollout
    ready_with_zero = Rollout(stable="r1").created("r2").rollout.ready("r2", 0)
    assert ready_with_zero.became == "rolled back"
    assert ready_with_zero.rollout == Rollout(stable="r1")
