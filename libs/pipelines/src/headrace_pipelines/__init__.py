"""KFP v2 pipeline specs: load, validate, plan (pure logic shared by scheduler and client)."""

from . import cel
from .arguments import artifact_path, bind_arguments, bind_input_artifacts
from .errors import SpecError
from .loading import PipelineSource, canonical_json, load_pipeline
from .plan import ROOT, Plan, TaskPlan, compile_plan, load_protobuf_support
from .types import PARAMETER_TYPES, coerce, from_spec, parse_text, type_label

__all__ = [
    "PARAMETER_TYPES",
    "ROOT",
    "PipelineSource",
    "Plan",
    "SpecError",
    "TaskPlan",
    "artifact_path",
    "bind_arguments",
    "bind_input_artifacts",
    "canonical_json",
    "cel",
    "coerce",
    "compile_plan",
    "from_spec",
    "load_pipeline",
    "load_protobuf_support",
    "parse_text",
    "type_label",
]
