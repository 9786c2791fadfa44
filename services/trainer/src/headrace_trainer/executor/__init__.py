"""The executor entrypoint: one execution of one KFP step, the same on a laptop and in a pod.

`execute` takes a `StepReady`, an artifact store, a workdir and a `Runner`, and returns an
`Outcome`. ``headrace-executor STEP.json --out OUTCOME.json`` (``python -m
headrace_trainer.executor``) does the same with a plain subprocess runner.
"""

from .control import StepControl
from .core import LOG_FILE, execute
from .executor_input import LocalArtifact, build_executor_input
from .logs import log_key, step_key
from .outcome import Metric, Outcome
from .parameters import coerce_parameter, parse_parameter
from .placeholders import PipelineInfo, resolve_args, resolve_string
from .runner import Launch, PythonCall, Runner, Running, SubprocessRunner, describe_exit
from .shape import PythonComponent, detect_python_component

__all__ = [
    "LOG_FILE",
    "Launch",
    "LocalArtifact",
    "Metric",
    "Outcome",
    "PipelineInfo",
    "PythonCall",
    "PythonComponent",
    "Runner",
    "Running",
    "StepControl",
    "SubprocessRunner",
    "build_executor_input",
    "coerce_parameter",
    "describe_exit",
    "detect_python_component",
    "execute",
    "log_key",
    "parse_parameter",
    "resolve_args",
    "resolve_string",
    "step_key",
]
