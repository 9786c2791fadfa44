"""Resources and kfp-kubernetes settings of a compiled pipeline reach the StepReady fields
(pure: real kfp-compiled specs, no broker).

(No ``from __future__ import annotations``: kfp reads component annotations as types.)
"""

from pathlib import Path
from typing import Any

from kfp import compiler, dsl, kubernetes

from headrace_contracts import Resources
from headrace_pipelines import compile_plan, load_pipeline, pack_pipeline
from headrace_scheduler.resources import resources_of, timeout_of


@dsl.component
def train(x: int) -> int:
    return x


@dsl.pipeline
def configured(cpu: str = "3", gpus: str = "2") -> None:
    task = train(x=1)
    task.set_cpu_limit("2").set_memory_limit("4Gi").set_cpu_request("500m")
    task.set_memory_request("1G").set_accelerator_type("nvidia.com/gpu")
    task.set_accelerator_limit(1)
    kubernetes.add_node_selector(task, label_key="disk", label_value="ssd")
    kubernetes.set_timeout(task, 20)
    other = train(x=2)
    other.set_cpu_limit(cpu).set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(gpus)


def compiled(tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    target = tmp_path / "configured.yaml"
    compiler.Compiler().compile(configured, str(target))
    return load_pipeline(target)


def test_setters_become_requests_limits_and_accelerators(tmp_path: Path) -> None:
    spec, _ = compiled(tmp_path)
    container = spec["deploymentSpec"]["executors"]["exec-train"]["container"]
    assert resources_of(container, {}) == Resources(
        cpu="500m",
        memory="1G",
        gpu=1,
        gpu_type="nvidia.com/gpu",
        cpu_request="500m",
        cpu_limit="2",
        memory_request="1G",
        memory_limit="4Gi",
        accelerator_type="nvidia.com/gpu",
        accelerator_count=1,
    )


def test_values_from_pipeline_parameters_are_resolved_from_the_task_inputs(
    tmp_path: Path,
) -> None:
    spec, _ = compiled(tmp_path)
    container = spec["deploymentSpec"]["executors"]["exec-train-2"]["container"]
    found = resources_of(container, {"pipelinechannel--cpu": "3", "pipelinechannel--gpus": "2"})
    assert (found.cpu_limit, found.cpu, found.accelerator_count, found.gpu) == ("3", "3", 2, 2)


def test_deprecated_numeric_fields_are_read_when_alone() -> None:
    container = {"resources": {"cpuLimit": 1.5, "memoryLimit": 2.0}}
    found = resources_of(container, {})
    assert (found.cpu_limit, found.memory_limit, found.cpu, found.memory) == (
        "1.5",
        "2G",
        "1.5",
        "2G",
    )
    assert resources_of({}, {}) == Resources()


def test_the_platform_spec_survives_packing_and_is_found_per_executor(tmp_path: Path) -> None:
    spec, platform = compiled(tmp_path)
    assert platform is not None
    stored = pack_pipeline(spec, platform)
    plan = compile_plan(*load_pipeline(stored))
    executor = plan.platform_executor(plan.tasks["root"]["train"].component_name)
    assert executor["nodeSelector"] == {"labels": {"disk": "ssd"}}
    assert timeout_of(executor) == 20.0
    assert plan.platform_executor(plan.tasks["root"]["train-2"].component_name) == {}
    assert pack_pipeline(spec, None) is spec
