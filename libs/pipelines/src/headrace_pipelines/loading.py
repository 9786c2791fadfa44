"""Reading a compiled pipeline: KFP YAML (one or two documents), JSON, or a dict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

PipelineSource = str | bytes | Path | dict[str, Any]
_SUFFIXES = (".yaml", ".yml", ".json")


def load_pipeline(source: PipelineSource) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return ``(pipeline_spec, platform_spec)`` from a path, YAML/JSON text or a dict.

    ``kfp`` writes the PipelineSpec as the first YAML document and, when the pipeline has
    platform settings (Kubernetes volumes, secrets), a PlatformSpec as the second.
    """
    if isinstance(source, dict):
        if "pipeline_spec" in source and "root" not in source:
            return _mapping(source["pipeline_spec"], "pipeline_spec"), source.get("platform_spec")
        return source, None
    if isinstance(source, str) and "\n" not in source and source.endswith(_SUFFIXES):
        source = Path(source)
    if isinstance(source, Path):
        if not source.is_file():
            raise SpecError(f"no pipeline file at {source}: pass the compiled YAML's path")
        text = source.read_text()
    else:
        text = source.decode() if isinstance(source, bytes) else source
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML or JSON ({exc}): pass kfp's compiled YAML") from None
    if not documents:
        raise SpecError("the pipeline file is empty: compile the pipeline with kfp first")
    spec = _mapping(documents[0], "pipeline spec")
    platform = _mapping(documents[1], "platform spec") if len(documents) > 1 else None
    if "pipelineSpec" in spec and "root" not in spec:  # a PipelineJob JSON
        platform = spec.get("platformSpec", platform)
        spec = _mapping(spec["pipelineSpec"], "pipelineSpec")
    return spec, platform


def pack_pipeline(spec: dict[str, Any], platform: dict[str, Any] | None) -> dict[str, Any]:
    """One JSON document holding both specs, which `load_pipeline` reads back: the
    PipelineSpec alone when there is no PlatformSpec."""
    if not platform:
        return spec
    return {"pipeline_spec": spec, "platform_spec": platform}


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"the {what} is a {type(value).__name__}, not a mapping")
    return value


def canonical_json(value: Any) -> str:
    """Stable JSON text of a value (sorted keys, no spaces), for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
