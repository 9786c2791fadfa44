"""KFP v2 pipeline specs: load, validate, plan (pure logic shared by scheduler and client)."""

from . import cel
from .arguments import bind_arguments
from .errors import SpecError
from .loading import PipelineSource, canonical_json, load_pipeline, pack_pipeline
from .plan import ROOT, Plan, TaskPlan, compile_plan, load_protobuf_support
from .types import PARAMETER_TYPES, coerce, from_spec, parse_text, type_label

__all__ = [
    "PARAMETER_TYPES",
    "ROOT",
    "PipelineSource",
    "Plan",
    "SpecError",
    "TaskPlan",
    "bind_arguments",
    "canonical_json",
    "cel",
    "coerce",
    "compile_plan",
    "from_spec",
    "load_pipeline",
    "load_protobuf_support",
    "pack_pipeline",
    "parse_text",
    "type_label",
]
