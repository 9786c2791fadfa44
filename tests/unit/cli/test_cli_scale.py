"""``--scale SERVICE=N``: which replicas ``headrace up`` runs, and the errors users see."""

from __future__ import annotations

import pytest

from headrace.scale import (
    SERVICES,
    ScaleError,
    instance_name,
    parse_scale_item,
    plan_replicas,
    scale_args,
)


def test_every_service_runs_once_by_default() -> None:
    assert plan_replicas() == dict.fromkeys(
        ("scheduler", "trainer", "tuner", "serving", "metadata"), 1
    )
    assert set(SERVICES) == set(plan_replicas())


def test_scale_overrides_one_service_and_the_last_value_wins() -> None:
    wanted = plan_replicas(["metadata=2", "trainer=3", "metadata=4"])
    assert wanted["metadata"] == 4
    assert wanted["trainer"] == 3
    assert wanted["scheduler"] == 1


def test_parse_accepts_spaces_around_the_parts() -> None:
    assert parse_scale_item(" tuner = 5") == ("tuner", 5)


def test_serving_is_refused_more_than_one_replica_with_the_reason() -> None:
    assert parse_scale_item("serving=1") == ("serving", 1)
    with pytest.raises(ScaleError) as caught:
        parse_scale_item("serving=2")
    assert str(caught.value).startswith("serving runs as one replica on one machine: ")
    assert "minReplicas/maxReplicas" in str(caught.value)


def test_unknown_service_names_the_service_and_lists_the_known_ones() -> None:
    with pytest.raises(ScaleError) as caught:
        parse_scale_item("foo=2")
    assert str(caught.value) == (
        "unknown service 'foo' (services: metadata, scheduler, serving, trainer, tuner)"
    )


@pytest.mark.parametrize("count", ["zero", "0", "-1", "1.5", ""])
def test_replica_count_must_be_a_positive_integer(count: str) -> None:
    with pytest.raises(ScaleError, match="replica count must be a positive integer"):
        parse_scale_item(f"metadata={count}")


@pytest.mark.parametrize("item", ["metadata", "=2", ""])
def test_an_item_without_service_and_count_shows_the_form(item: str) -> None:
    with pytest.raises(ScaleError, match=r"SERVICE=N \(e\.g\. metadata=2\)"):
        parse_scale_item(item)


def test_scale_args_reproduce_the_plan() -> None:
    wanted = plan_replicas(["metadata=2", "tuner=1"])
    assert scale_args(wanted) == ["metadata=2"]
    assert plan_replicas(scale_args(wanted)) == wanted


def test_instance_names_count_replicas_from_zero() -> None:
    assert instance_name("metadata", 0) == "metadata-0"
