"""Katib wire model -> :class:`ExperimentSpec`: the checks Katib's webhook makes and its
defaults (metric strategies from the objective type, the StdOut collector)."""

from __future__ import annotations

import math
import re
from typing import Any

from ._convert import Collector
from ._katib import (
    AlgorithmWire,
    EarlyStoppingWire,
    ExperimentWire,
    MetricsCollectorWire,
    ObjectiveWire,
    ParameterWire,
    TrialTemplateWire,
)
from .algorithms import (
    ALGORITHMS,
    EARLY_STOPPING,
    REFUSED_ALGORITHMS,
    SINGLE_OBJECTIVE,
    check_setting,
)
from .errors import ManifestError
from .experiment import (
    AlgorithmSpec,
    EarlyStoppingSpec,
    ExperimentSpec,
    MetricsCollectorSpec,
    MetricStrategy,
    Objective,
    ObjectiveTerm,
    ParameterSpec,
    TrialKind,
    TrialParameter,
    TrialTemplate,
)
from .render import JOB_FIELDS, META_REFERENCES, placeholders, render_trial

TRIAL_KINDS: dict[tuple[str, str], TrialKind] = {
    ("batch/v1", "Job"): "Job",
    ("kubeflow.org/v1", "PyTorchJob"): "PyTorchJob",
    ("kubeflow.org/v1", "TFJob"): "TFJob",
    ("trainer.kubeflow.org/v1alpha1", "TrainJob"): "TrainJob",
}
_COLLECTORS = {"StdOut", "File", "Push"}


def experiment(wire: ExperimentWire, found: Collector) -> ExperimentSpec | None:
    spec = wire.spec
    objective = _objective(spec.objective, found)
    algorithm = _algorithm(spec.algorithm, found)
    parameters = _parameters(spec.parameters, found)
    early = _early_stopping(spec.early_stopping, found)
    collector = _collector(spec.metrics_collector_spec, found)
    namespace = wire.metadata.namespace or "default"
    declared = {p.name for p in spec.parameters}
    template = _template(
        spec.trial_template, declared, parameters, wire.metadata.name, namespace, found
    )
    if objective.multi:
        single = SINGLE_OBJECTIVE.get(algorithm.name)
        if single:
            found.add(
                "spec.algorithm.algorithmName",
                f"{algorithm.name} {single}: with "
                "additionalObjectives use nsga2, tpe, random, grid or sobol",
            )
        if early is not None:
            found.add(
                "spec.earlyStopping",
                "early stopping compares one objective: remove it "
                "from a multi-objective experiment",
            )
    if found.problems or template is None:
        return None
    return ExperimentSpec(
        name=wire.metadata.name,
        namespace=namespace,
        objective=objective,
        algorithm=algorithm,
        parameters=tuple(parameters),
        parallel_trial_count=spec.parallel_trial_count,
        max_trial_count=spec.max_trial_count,
        max_failed_trial_count=spec.max_failed_trial_count,
        resume_policy=spec.resume_policy,
        early_stopping=early,
        metrics_collector=collector,
        trial_template=template,
        labels=dict(wire.metadata.labels),
    )


def _objective(wire: ObjectiveWire, found: Collector) -> Objective:
    base = "spec.objective"
    extra = [term.name for term in wire.additional_objectives]
    names = [wire.objective_metric_name, *extra, *wire.additional_metric_names]
    if len(set(names)) != len(names):
        found.add(
            f"{base}.additionalMetricNames",
            "lists a metric twice (among the objective, "
            "additionalObjectives and additionalMetricNames): name each once",
        )
    default: MetricStrategy = "min" if wire.type == "minimize" else "max"
    strategies: dict[str, MetricStrategy] = dict.fromkeys(names, default)
    for term in wire.additional_objectives:
        strategies[term.name] = "min" if term.type == "minimize" else "max"
    if extra and wire.goal is not None:
        found.add(
            f"{base}.goal",
            "a multi-objective experiment has no single goal: remove it (it ends at maxTrialCount)",
        )
    given: set[str] = set()
    for position, strategy in enumerate(wire.metric_strategies):
        path = f"{base}.metricStrategies[{position}].name"
        if strategy.name not in strategies:
            found.add(
                path,
                f"metric {strategy.name!r} is neither the objective nor an additional metric: "
                f"name one of {', '.join(names)}",
            )
        elif strategy.name in given:
            found.add(path, f"metric {strategy.name!r} has two strategies: keep one")
        else:
            given.add(strategy.name)
            strategies[strategy.name] = strategy.value
    if wire.goal is not None and not math.isfinite(wire.goal):
        found.add(f"{base}.goal", "must be a finite number")
    return Objective(
        type=wire.type,
        metric=wire.objective_metric_name,
        goal=wire.goal,
        additional_metrics=tuple(wire.additional_metric_names),
        strategies=strategies,
        additional_objectives=tuple(
            ObjectiveTerm(name=t.name, type=t.type) for t in wire.additional_objectives
        ),
    )


def _algorithm(wire: AlgorithmWire, found: Collector) -> AlgorithmSpec:
    base = "spec.algorithm"
    name = wire.algorithm_name
    settings = {s.name: s.value for s in wire.algorithm_settings}
    if name in REFUSED_ALGORITHMS:
        found.add(
            f"{base}.algorithmName",
            f"{name}: {REFUSED_ALGORITHMS[name]}; use one of " + ", ".join(ALGORITHMS),
        )
    elif name not in ALGORITHMS:
        found.add(
            f"{base}.algorithmName",
            f"unknown algorithm {name!r}: use one of " + ", ".join(ALGORITHMS),
        )
    else:
        _settings(ALGORITHMS, name, wire.algorithm_settings, f"{base}.algorithmSettings", found)
    return AlgorithmSpec(name=name, settings=settings)


def _settings(table: Any, name: str, settings: Any, base: str, found: Collector) -> None:
    seen: set[str] = set()
    for position, setting in enumerate(settings):
        path = f"{base}[{position}]"
        if setting.name in seen:
            found.add(path, f"setting {setting.name!r} is given twice: keep one")
        seen.add(setting.name)
        problem = check_setting(table, name, setting.name, setting.value)
        if problem:
            found.add(path, problem)


def _number(text: str | None, path: str, found: Collector, *, whole: bool) -> float | None:
    if text is None:
        return None
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        found.add(path, f"{text!r} is not {kind}: write e.g. {'3' if whole else '0.01'}")
        return None
    if not math.isfinite(value):
        found.add(path, "must be a finite number")
        return None
    return float(value)


def _parameters(wires: list[ParameterWire], found: Collector) -> list[ParameterSpec]:
    out: list[ParameterSpec] = []
    seen: set[str] = set()
    for position, wire in enumerate(wires):
        path = f"spec.parameters[{position}]"
        if wire.name in seen:
            found.add(f"{path}.name", f"parameter {wire.name!r} is declared twice: keep one")
            continue
        seen.add(wire.name)
        parameter = _parameter(wire, f"{path}.feasibleSpace", found)
        if parameter is not None:
            out.append(parameter)
    return out


def _parameter(wire: ParameterWire, path: str, found: Collector) -> ParameterSpec | None:
    space = wire.feasible_space
    before = len(found.problems)
    distribution = space.distribution or "uniform"
    if wire.parameter_type in ("categorical", "discrete"):
        for field in ("min", "max", "step"):
            if getattr(space, field) is not None:
                found.add(
                    f"{path}.{field}",
                    f"a {wire.parameter_type} parameter takes only 'list': remove it",
                )
        values = space.items or []
        if not values:
            found.add(f"{path}.list", f"is empty: list the values of {wire.name!r} to try")
        if len(set(values)) != len(values):
            found.add(f"{path}.list", "lists a value twice: name each once")
        if wire.parameter_type == "discrete":
            for index, value in enumerate(values):
                _number(value, f"{path}.list[{index}]", found, whole=False)
        if space.distribution not in (None, "uniform"):
            found.add(f"{path}.distribution", "applies to int and double parameters only")
        if len(found.problems) > before:
            return None
        return ParameterSpec(name=wire.name, type=wire.parameter_type, values=tuple(values))
    whole = wire.parameter_type == "int"
    if space.items is not None:
        found.add(
            f"{path}.list",
            f"an {wire.parameter_type} parameter takes min and max: "
            "remove 'list' (or make the parameter discrete)",
        )
    low = _number(space.min, f"{path}.min", found, whole=whole)
    high = _number(space.max, f"{path}.max", found, whole=whole)
    step = _number(space.step, f"{path}.step", found, whole=whole)
    for field, given in (("min", space.min), ("max", space.max)):
        if given is None:
            found.add(f"{path}.{field}", f"is required for an {wire.parameter_type} parameter")
    if low is not None and high is not None:
        if low > high:
            found.add(
                f"{path}.max",
                f"{space.max} is below min {space.min}: the space is "
                "inverted; give max greater than min",
            )
        elif low == high:
            found.add(
                f"{path}.max",
                f"equals min ({space.min}): the space is empty; give max "
                "greater than min (a fixed value belongs in the trial template)",
            )
        elif step is not None and step > high - low:
            found.add(f"{path}.step", f"{space.step} is larger than max - min: give a smaller step")
        if distribution in ("logUniform", "logNormal") and low <= 0:
            found.add(f"{path}.min", f"must be above 0 for a {distribution} distribution")
    if step is not None and step <= 0:
        found.add(f"{path}.step", "must be greater than 0")
    if len(found.problems) > before:
        return None
    return ParameterSpec(
        name=wire.name,
        type=wire.parameter_type,
        min=low,
        max=high,
        step=step,
        distribution=distribution,
    )


def _early_stopping(wire: EarlyStoppingWire | None, found: Collector) -> EarlyStoppingSpec | None:
    if wire is None:
        return None
    base = "spec.earlyStopping"
    if wire.algorithm_name not in EARLY_STOPPING:
        found.add(
            f"{base}.algorithmName",
            f"unknown early-stopping algorithm "
            f"{wire.algorithm_name!r}: use one of " + ", ".join(EARLY_STOPPING),
        )
        return None
    before = len(found.problems)
    _settings(
        EARLY_STOPPING,
        wire.algorithm_name,
        wire.algorithm_settings,
        f"{base}.algorithmSettings",
        found,
    )
    if len(found.problems) > before:
        return None
    values = {s.name: int(s.value) for s in wire.algorithm_settings}
    return EarlyStoppingSpec(**values)


def _collector(wire: MetricsCollectorWire, found: Collector) -> MetricsCollectorSpec:
    base = "spec.metricsCollectorSpec"
    kind = wire.collector.kind
    if kind not in _COLLECTORS:
        found.add(
            f"{base}.collector.kind",
            f"collector {kind!r} is not supported: use StdOut "
            "(name=value lines), File (a metrics file) or Push (headrace.report_metrics)",
        )
        return MetricsCollectorSpec()
    source = wire.source
    formats: list[str] = list(source.filter.metrics_format) if source and source.filter else []
    for position, pattern in enumerate(formats):
        path = f"{base}.source.filter.metricsFormat[{position}]"
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            found.add(path, f"is not a valid regular expression ({error}): fix it")
            continue
        if compiled.groups < 2:
            found.add(path, "needs two groups, the metric name then its value: add them")
    file = source.file_system_path if source else None
    if kind == "File" and file is None:
        found.add(
            f"{base}.source.fileSystemPath",
            "is required by the File collector: give the path the trial writes its metrics to",
        )
    if kind != "File" and file is not None:
        found.add(
            f"{base}.source.fileSystemPath",
            f"applies to the File collector only, not {kind}: remove it",
        )
    if kind == "Push" and formats:
        found.add(f"{base}.source.filter", "pushed metrics are not parsed: remove the filter")
    return MetricsCollectorSpec(
        kind=kind,
        metrics_format=tuple(formats),
        path=file.path if file else "",
        file_format=file.format if file else "TEXT",
    )


def _template(
    wire: TrialTemplateWire,
    names: set[str],
    parameters: list[ParameterSpec],
    experiment_name: str,
    namespace: str,
    found: Collector,
) -> TrialTemplate | None:
    base = "spec.trialTemplate"
    spec = wire.trial_spec
    api_version, kind = str(spec.get("apiVersion", "")), str(spec.get("kind", ""))
    trial_kind = TRIAL_KINDS.get((api_version, kind))
    if trial_kind is None:
        found.add(
            f"{base}.trialSpec",
            f"{kind or 'no kind'} ({api_version or 'no apiVersion'})"
            " cannot be a trial: give a batch/v1 Job, a kubeflow.org/v1 PyTorchJob or "
            "TFJob, or a trainer.kubeflow.org/v1alpha1 TrainJob",
        )
        return None
    if trial_kind == "Job":
        body = spec.get("spec")
        for field in sorted(set(body if isinstance(body, dict) else {}) - set(JOB_FIELDS)):
            found.add(
                f"{base}.trialSpec.spec.{field}",
                "is not supported for a trial Job (a trial runs one pod): remove it",
            )
    declared: list[TrialParameter] = []
    for position, given in enumerate(wire.trial_parameters):
        path = f"{base}.trialParameters[{position}]"
        if any(p.name == given.name for p in declared):
            found.add(f"{path}.name", f"trial parameter {given.name!r} is declared twice")
            continue
        if given.reference not in names and given.reference not in META_REFERENCES:
            found.add(
                f"{path}.reference",
                f"{given.reference!r} is neither a parameter "
                f"({', '.join(sorted(names))}) nor trial metadata "
                f"({', '.join(META_REFERENCES)}): reference one of them",
            )
        declared.append(
            TrialParameter(
                name=given.name, reference=given.reference, description=given.description
            )
        )
    used = placeholders(spec)
    known = {p.name for p in declared}
    for name in sorted(used - known):
        found.add(
            f"{base}.trialSpec",
            f"uses ${{trialParameters.{name}}}, which is not a "
            "trial parameter: declare it under trialTemplate.trialParameters",
        )
    for position, parameter in enumerate(declared):
        if parameter.name not in used:
            found.add(
                f"{base}.trialParameters[{position}].name",
                f"trial parameter "
                f"{parameter.name!r} is not used in trialSpec: use "
                f"${{trialParameters.{parameter.name}}} there or remove it",
            )
    template = TrialTemplate(
        kind=trial_kind,
        api_version=api_version,
        spec=spec,
        parameters=tuple(declared),
        primary_container_name=wire.primary_container_name,
    )
    if found.problems:
        return None
    sample = {p.name: p.sample_value() for p in parameters}
    _check_renders(template, sample, experiment_name, namespace, found)
    return template


def _check_renders(
    template: TrialTemplate,
    sample: dict[str, str],
    experiment_name: str,
    namespace: str,
    found: Collector,
) -> None:
    from .load import parse_training_job  # the job loader imports nothing of this module

    manifest = render_trial(template, f"{experiment_name}-check", namespace, sample)
    try:
        parse_training_job(manifest, found.document)
    except ManifestError as error:
        for problem in error.problems:
            path = problem.path
            if template.kind == "Job":
                path = path.replace("spec.pytorchReplicaSpecs.Master.template", "spec.template")
                path = path.replace("spec.runPolicy.", "spec.")
            found.add(
                "spec.trialTemplate.trialSpec" + (f".{path}" if path else ""), problem.message
            )
