"""The KFP ``ExecutorInput`` JSON a component reads (pure).

::

    {"inputs":  {"parameterValues": {name: value},
                 "artifacts": {name: {"artifacts": [RuntimeArtifact, ...]}}},
     "outputs": {"parameters": {name: {"outputFile": path}},
                 "artifacts":  {name: {"artifacts": [RuntimeArtifact]}},
                 "outputFile": <workdir>/executor_output.json}}

    RuntimeArtifact = {"name", "type": {"schemaTitle", "schemaVersion"}, "uri", "metadata"}

``uri`` is a local path: kfp's ``Artifact.path`` returns a non-remote URI unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LocalArtifact", "build_executor_input", "declared_artifact_type"]


@dataclass(frozen=True)
class LocalArtifact:
    """An artifact as the component sees it: a local path with its type and metadata."""

    name: str
    path: str
    schema_title: str = "system.Artifact"
    schema_version: str = "0.0.1"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def runtime_artifact(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": {"schemaTitle": self.schema_title, "schemaVersion": self.schema_version},
            "uri": self.path,
            "metadata": dict(self.metadata),
        }


def build_executor_input(
    *,
    parameters: Mapping[str, Any],
    input_artifacts: Mapping[str, Sequence[LocalArtifact]],
    output_parameter_files: Mapping[str, str],
    output_artifacts: Mapping[str, LocalArtifact],
    output_file: str,
) -> dict[str, Any]:
    """The ExecutorInput for one execution."""
    inputs: dict[str, Any] = {"parameterValues": dict(parameters)}
    if input_artifacts:
        inputs["artifacts"] = {
            name: {"artifacts": [artifact.runtime_artifact() for artifact in artifacts]}
            for name, artifacts in input_artifacts.items()
        }
    outputs: dict[str, Any] = {"outputFile": output_file}
    if output_parameter_files:
        outputs["parameters"] = {
            name: {"outputFile": path} for name, path in output_parameter_files.items()
        }
    if output_artifacts:
        outputs["artifacts"] = {
            name: {"artifacts": [artifact.runtime_artifact()]}
            for name, artifact in output_artifacts.items()
        }
    return {"inputs": inputs, "outputs": outputs}


def declared_artifact_type(
    component: Mapping[str, Any], side: str, name: str
) -> tuple[str, str] | None:
    """``(schemaTitle, schemaVersion)`` the ComponentSpec declares for an input
    (``side='inputDefinitions'``) or output (``'outputDefinitions'``) artifact."""
    definition = component.get(side, {}).get("artifacts", {}).get(name)
    if not definition:
        return None
    artifact_type = definition.get("artifactType", {})
    title = artifact_type.get("schemaTitle")
    if not title:
        return None
    return str(title), str(artifact_type.get("schemaVersion") or "0.0.1")
