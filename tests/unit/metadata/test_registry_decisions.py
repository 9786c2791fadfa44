"""The registry's decisions without a database: registration from a step's artifact, and
whether a promotion may move its alias."""

from __future__ import annotations

from typing import Any

from headrace_contracts import ArtifactRef, ArtifactWritten, RegisterModel
from headrace_metadata.registry.decisions import (
    Promote,
    Refuse,
    VersionFacts,
    decide_promotion,
    registration_fault,
    registration_from_artifact,
)


def facts(state: str = "LIVE", **metrics: float) -> VersionFacts:
    return VersionFacts(
        version=2, state=state, metrics=metrics, properties={"layers": 3}, labels={}, tags=[]
    )


def decide(**overrides: Any) -> Promote | Refuse:
    values: dict[str, Any] = {
        "model": "iris",
        "namespace": "default",
        "alias": "production",
        "version": 2,
        "require": "",
        "found_model": True,
        "facts": facts(accuracy=0.97),
        "known_versions": [1, 2],
        "current": 1,
    }
    values.update(overrides)
    return decide_promotion(**values)


def test_a_promotion_moves_the_alias_and_names_where_it_pointed() -> None:
    assert decide() == Promote(version=2, previous=1)
    assert decide(current=None) == Promote(version=2, previous=None)
    assert decide(require="metrics.accuracy >= 0.95 && properties.layers == 3") == Promote(
        version=2, previous=1
    )


def test_refusals_name_the_fault() -> None:
    assert decide(found_model=False) == Refuse(
        "no model 'iris' is registered in namespace 'default': register a version first "
        "(list them with `headrace model list`)"
    )
    assert decide(facts=None, version=7) == Refuse(
        "model 'iris' has no version 7 (its versions: 1, 2): see `headrace model versions iris`"
    )
    assert decide(facts=facts("ARCHIVED")) == Refuse(
        "version 2 of model 'iris' is ARCHIVED: promote a LIVE version"
    )
    assert decide(require="metrics.accuracy >= 0.99") == Refuse(
        "version 2 of 'iris' does not meet 'metrics.accuracy >= 0.99' (its metrics: accuracy=0.97)"
    )
    refused = decide(require="metrics.auc > 0.5")
    assert isinstance(refused, Refuse)
    assert refused.reason.startswith(
        "condition 'metrics.auc > 0.5' could not be evaluated for version 2 of 'iris': "
        'Key not found in map : "auc"'
    )
    assert refused.reason.endswith("(its metrics: accuracy=0.97; properties: layers)")
    invalid = decide(require="metrics.accuracy >")
    assert isinstance(invalid, Refuse)
    assert invalid.reason.startswith("invalid condition: condition 'metrics.accuracy >' is not")
    assert "at column 19" in invalid.reason
    bad_alias = decide(alias="Prod")
    assert isinstance(bad_alias, Refuse)
    assert bad_alias.reason.startswith("alias 'Prod' is not valid")


def test_an_invalid_condition_is_refused_before_the_model_is_looked_at() -> None:
    refused = decide(found_model=False, require="1 +")
    assert isinstance(refused, Refuse)
    assert refused.reason.startswith("invalid condition:")


def written(metadata: dict[str, Any]) -> ArtifactWritten:
    ref = ArtifactRef(uri="file:///m", name="model", digest="sha256:ab", metadata=metadata)
    return ArtifactWritten(artifact=ref, run_id="r1", step_id="train", output_name="model")


def test_a_step_registers_its_model_through_artifact_metadata() -> None:
    command = registration_from_artifact(
        written(
            {
                "headrace.register_model": "iris",
                "headrace.model_description": "a tree",
                "headrace.model_tags": "candidate, tree",
                "headrace.model_framework": "sklearn",
                "headrace.model_labels": {"team": "vision"},
                "layers": 3,
            }
        )
    )
    assert command == RegisterModel(
        model_name="iris",
        uri="file:///m",
        digest="sha256:ab",
        framework="sklearn",
        run_id="r1",
        step_id="train",
        labels={"team": "vision"},
        metadata={"layers": 3},
        description="a tree",
        tags=["candidate", "tree"],
    )
    assert registration_from_artifact(written({"layers": 3})) is None


def test_registration_faults() -> None:
    ok = RegisterModel(model_name="iris", uri="file:///m")
    assert registration_fault(ok) == ""
    assert registration_fault(ok.model_copy(update={"model_name": "a/b"})).startswith(
        "model name 'a/b' is not valid"
    )
    assert registration_fault(ok.model_copy(update={"uri": " "})).startswith(
        "model 'iris': the artifact URI is empty"
    )
    assert "is a registry URI" in registration_fault(
        ok.model_copy(update={"uri": "models:/iris/1"})
    )
    assert registration_fault(ok.model_copy(update={"namespace": "Team"})).startswith(
        "namespace 'Team' is not valid"
    )
