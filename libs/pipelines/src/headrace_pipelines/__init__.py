"""KFP v2 pipeline specs: load, validate, plan (pure logic shared by scheduler and client)."""

from . import cel
from .arguments import (
    artifact_path,
    bind_arguments,
    bind_input_artifacts,
    missing_parameters,
    model_uris,
)
from .errors import SpecError
from .loading import PipelineSource, canonical_json, load_pipeline, pack_pipeline
from .plan import ROOT, Plan, TaskPlan, compile_plan, load_protobuf_support
from .schedule_times import (
    Cron,
    Interval,
    Timing,
    check_cron,
    check_schedule_arguments,
    parse_duration,
    timing,
)
from .types import PARAMETER_TYPES, coerce, convert_input, from_spec, parse_text, type_label
from .value_text import as_text, json_text

__all__ = [
    "PARAMETER_TYPES",
    "ROOT",
    "Cron",
    "Interval",
    "PipelineSource",
    "Plan",
    "SpecError",
    "TaskPlan",
    "Timing",
    "artifact_path",
    "as_text",
    "bind_arguments",
    "bind_input_artifacts",
    "canonical_json",
    "cel",
    "check_cron",
    "check_schedule_arguments",
    "coerce",
    "compile_plan",
    "convert_input",
    "from_spec",
    "json_text",
    "load_pipeline",
    "load_protobuf_support",
    "missing_parameters",
    "model_uris",
    "pack_pipeline",
    "parse_duration",
    "parse_text",
    "timing",
    "type_label",
]
