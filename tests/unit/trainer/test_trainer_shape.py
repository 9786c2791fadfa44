"""Which compiled specs are lightweight Python components (no future annotations: kfp
reads them as types)."""

from collections.abc import Callable
from typing import Any

from kfp import dsl

from headrace_trainer.executor import detect_python_component


@dsl.component(base_image="python:3.11")
def with_pip(x: int) -> int:
    return x + 1


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def without_pip(x: int) -> int:
    return x * 2


@dsl.component(base_image="python:3.11", packages_to_install=["pandas==2.2.2"])
def with_packages(x: int) -> int:
    return x


@dsl.container_component
def in_image(x: int) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(image="alpine:3.19", command=["echo"], args=[str(x)])


def test_pip_shape_is_recognised(compiled: Callable[[Any], Any]) -> None:
    container, _ = compiled(with_pip)
    found = detect_python_component(container)
    assert found is not None
    assert found.function == "with_pip"
    assert "def with_pip(x: int) -> int:" in found.source
    assert found.args[:2] == ["--executor_input", "{{$}}"]
    assert found.packages == []


def test_shape_without_kfp_install_is_recognised(compiled: Callable[[Any], Any]) -> None:
    container, _ = compiled(without_pip)
    found = detect_python_component(container)
    assert found is not None
    assert found.function == "without_pip"


def test_requested_packages_are_reported(compiled: Callable[[Any], Any]) -> None:
    container, _ = compiled(with_packages)
    found = detect_python_component(container)
    assert found is not None
    assert found.packages == ["pandas==2.2.2"]


def test_container_components_and_altered_shapes_are_not(compiled: Callable[[Any], Any]) -> None:
    container, _ = compiled(in_image)
    assert detect_python_component(container) is None
    python, _ = compiled(with_pip)
    assert detect_python_component({**python, "args": ["--executor_input", "{{$}}"]}) is None
    altered = [*python["command"][:-1], "extra", python["command"][-1]]
    assert detect_python_component({**python, "command": altered}) is None
    assert detect_python_component({"command": ["python3", "-c", "print(1)"]}) is None
