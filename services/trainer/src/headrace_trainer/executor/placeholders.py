"""KFP v2 command-line placeholders, resolved against an ExecutorInput (pure).

What a compiled ``PipelineContainerSpec`` may carry in ``command`` and ``args``:

* ``{{$}}``: the whole ExecutorInput as JSON;
* ``{{$.inputs.parameters['x']}}``: a string raw, any other value JSON-encoded;
* ``{{$.inputs.artifacts['d'].path}}`` / ``.uri`` / ``.metadata`` / ``.metadata['k']``, and
  ``{{$.inputs.artifacts['d']}}`` (the list of artifacts as JSON);
* ``{{$.outputs.artifacts['m'].path}}`` / ``.uri`` / ``.metadata`` / ``.metadata['k']``;
* ``{{$.outputs.parameters['p'].output_file}}``, ``{{$.outputs.output_file}}``;
* ``{{$.pipeline_job_name}}``, ``{{$.pipeline_job_uuid}}``, ``{{$.pipeline_task_name}}``,
  ``{{$.pipeline_task_uuid}}``, ``{{$.pipeline_root}}`` and their relatives;
* structured elements, JSON strings of their own: ``{"Concat": [...]}`` (one string) and
  ``{"IfPresent": {"InputName": n, "Then": ..., "Else": ...}}`` (zero or more strings).

Placeholders may sit inside larger strings (``--lr={{$.inputs.parameters['lr']}}``). Local
artifacts have their path as ``uri`` (what ``Artifact.path`` returns for a non-remote URI).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import PlaceholderError

__all__ = ["PipelineInfo", "resolve_args", "resolve_parameter_references", "resolve_string"]

_PLACEHOLDER = re.compile(r"\{\{\$(.*?)\}\}")
_IO = re.compile(
    r"""^\.(?P<side>inputs|outputs)\.(?P<kind>parameters|artifacts)
        \[(?P<q>['"])(?P<name>.*?)(?P=q)\]
        (?:\.(?P<attr>path|uri|metadata|output_file)
           (?:\[(?P<q2>['"])(?P<key>.*?)(?P=q2)\])?)?$""",
    re.VERBOSE,
)
_STRUCT_PREFIXES = ('{"Concat"', '{"IfPresent"')


@dataclass(frozen=True)
class PipelineInfo:
    """Values of the pipeline-level placeholders."""

    pipeline_name: str = ""
    run_id: str = ""
    task_name: str = ""
    step_id: str = ""
    pipeline_root: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        found = {
            ".pipeline_job_name": self.pipeline_name,
            ".pipeline_job_resource_name": self.run_id,
            ".pipeline_job_uuid": self.run_id,
            ".pipeline_task_name": self.task_name,
            ".pipeline_task_uuid": self.step_id,
            ".pipeline_root": self.pipeline_root,
        }
        found.update(self.extra)
        return found


def resolve_args(
    elements: Sequence[str], executor_input: Mapping[str, Any], info: PipelineInfo
) -> list[str]:
    """Resolve a command or args list: structured elements expand, strings substitute."""
    resolved: list[str] = []
    for element in elements:
        if not isinstance(element, str):
            raise PlaceholderError(
                f"command element {element!r} is a {type(element).__name__}, not a string: "
                "compile the pipeline with the kfp SDK, which writes every element as a string"
            )
        if element.startswith(_STRUCT_PREFIXES):
            try:
                struct = json.loads(element)
            except json.JSONDecodeError:
                resolved.append(resolve_string(element, executor_input, info))
                continue
            resolved.extend(_struct(struct, executor_input, info))
        else:
            resolved.append(resolve_string(element, executor_input, info))
    return resolved


def resolve_string(text: str, executor_input: Mapping[str, Any], info: PipelineInfo) -> str:
    """Substitute every ``{{$...}}`` placeholder inside ``text``."""
    if "{{$" not in text:
        return text
    pipeline_values = info.values()

    def substitute(match: re.Match[str]) -> str:
        body = match.group(1)
        if body == "":
            return json.dumps(executor_input)
        if body in (".outputs.output_file", ".outputMetadataUri"):
            return str(executor_input["outputs"]["outputFile"])
        if body in pipeline_values:
            return pipeline_values[body]
        return _io_value(body, executor_input)

    return _PLACEHOLDER.sub(substitute, text)


def resolve_parameter_references(
    parameters: Mapping[str, Any], info: PipelineInfo
) -> dict[str, Any]:
    """Resolve string parameter values that refer to other inputs (f-string arguments such
    as ``"{{$.inputs.parameters['pipelinechannel--x']}}-suffix"``)."""
    context = {"inputs": {"parameterValues": dict(parameters)}, "outputs": {"outputFile": ""}}
    return {
        name: resolve_string(value, context, info) if isinstance(value, str) else value
        for name, value in parameters.items()
    }


def _io_value(body: str, executor_input: Mapping[str, Any]) -> str:
    match = _IO.match(body)
    if match is None:
        raise PlaceholderError(
            f"placeholder '{{{{${body}}}}}' is not one the Headrace launcher supports: use the "
            "kfp SDK's input/output placeholders (see kfp.dsl placeholders)"
        )
    side, kind, name = match.group("side"), match.group("kind"), match.group("name")
    attr, key = match.group("attr"), match.group("key")
    section = executor_input.get(side, {})
    if kind == "parameters":
        if side == "inputs" and attr is None:
            values = section.get("parameterValues", {})
            if name not in values or values[name] is None:
                raise PlaceholderError(
                    f"the command uses input parameter '{name}', which has no value: pass it "
                    "to the task, give it a default, or wrap it in an IfPresent placeholder"
                )
            return _text(values[name])
        if side == "outputs" and attr == "output_file":
            spec = section.get("parameters", {}).get(name)
            if spec is None:
                raise PlaceholderError(
                    f"the command writes output parameter '{name}', which the component "
                    "does not declare: add it to the component's outputs"
                )
            return str(spec["outputFile"])
        raise PlaceholderError(f"placeholder '{{{{${body}}}}}' is malformed: check its spelling")
    artifacts = section.get("artifacts", {}).get(name, {}).get("artifacts")
    if not artifacts:
        direction = "input" if side == "inputs" else "output"
        raise PlaceholderError(
            f"the command uses {direction} artifact '{name}', which has no value: connect it "
            "to an upstream output, or wrap it in an IfPresent placeholder"
        )
    if attr is None:
        return json.dumps(artifacts)
    first = artifacts[0]
    if attr in ("path", "uri"):
        return str(first["uri"])
    if attr == "metadata":
        metadata = first.get("metadata") or {}
        if key is None:
            return json.dumps(metadata)
        if key not in metadata:
            raise PlaceholderError(
                f"the command uses metadata key '{key}' of artifact '{name}', which it does "
                f"not have (keys: {sorted(metadata)})"
            )
        return _text(metadata[key])
    raise PlaceholderError(f"placeholder '{{{{${body}}}}}' is malformed: check its spelling")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _present(executor_input: Mapping[str, Any], name: str) -> bool:
    inputs = executor_input.get("inputs", {})
    if inputs.get("parameterValues", {}).get(name) is not None:
        return True
    return bool(inputs.get("artifacts", {}).get(name, {}).get("artifacts"))


def _struct(node: Any, executor_input: Mapping[str, Any], info: PipelineInfo) -> list[str]:
    """Expand a structured placeholder (or a branch of one) into strings."""
    if node is None:
        return []
    if isinstance(node, str):
        if node.startswith(_STRUCT_PREFIXES):
            return resolve_args([node], executor_input, info)
        return [resolve_string(node, executor_input, info)]
    if isinstance(node, list):
        return [text for item in node for text in _struct(item, executor_input, info)]
    if isinstance(node, dict) and len(node) == 1:
        ((kind, body),) = node.items()
        if kind == "Concat" and isinstance(body, list):
            return ["".join(text for item in body for text in _struct(item, executor_input, info))]
        if kind == "IfPresent" and isinstance(body, dict) and "InputName" in body:
            branch = "Then" if _present(executor_input, str(body["InputName"])) else "Else"
            return _struct(body.get(branch), executor_input, info)
    raise PlaceholderError(
        f"structured placeholder {json.dumps(node)[:200]} is not Concat or IfPresent: compile "
        "the component with the kfp SDK (ConcatPlaceholder, IfPresentPlaceholder)"
    )
