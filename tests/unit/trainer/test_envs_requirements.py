"""What a compiled lightweight component asks to install, and the cache key of its
environment (no future annotations: kfp reads component annotations as types)."""

import sys
from collections.abc import Callable
from typing import Any

from kfp import dsl

from headrace_trainer.envs import (
    StepRequirements,
    environment_digest,
    parse_pip_script,
    requirements_of,
)


@dsl.component(base_image="python:3.11")
def plain(x: int) -> int:
    return x


@dsl.component(base_image="python:3.11", packages_to_install=["headrace-test-pkg", "b>=2"])
def with_packages(x: int) -> int:
    return x


@dsl.component(
    base_image="python:3.11",
    packages_to_install=['numpy>=1.2; python_version>"3"'],
    pip_index_urls=["http://127.0.0.1:9/simple", "file:///tmp/wheels"],
)
def with_indexes(x: int) -> int:
    return x


@dsl.component(base_image="python:3.11", packages_to_install=["a==1"], install_kfp_package=False)
def without_kfp(x: int) -> int:
    return x


@dsl.component(base_image="python:3.11", packages_to_install=["kfp-kubernetes", "kfp==2.16.1"])
def with_kfp_packages(x: int) -> int:
    return x


@dsl.container_component
def in_image(x: int) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(image="alpine:3.19", command=["echo"], args=[str(x)])


def test_a_component_without_packages_runs_in_the_platform(compiled: Callable[[Any], Any]) -> None:
    assert requirements_of(compiled(plain)[0]) is None
    assert requirements_of(compiled(in_image)[0]) is None


def test_packages_are_read_and_kfps_own_install_is_dropped(
    compiled: Callable[[Any], Any],
) -> None:
    found = requirements_of(compiled(with_packages)[0])
    assert found == StepRequirements(("headrace-test-pkg", "b>=2"))


def test_index_urls_in_order_and_markers_kept(compiled: Callable[[Any], Any]) -> None:
    found = requirements_of(compiled(with_indexes)[0])
    assert found == StepRequirements(
        ('numpy>=1.2; python_version>"3"',),
        ("http://127.0.0.1:9/simple", "file:///tmp/wheels"),
    )


def test_without_kfp_install(compiled: Callable[[Any], Any]) -> None:
    assert requirements_of(compiled(without_kfp)[0]) == StepRequirements(("a==1",))


def test_kfp_itself_is_the_platforms_but_its_extensions_install(
    compiled: Callable[[Any], Any],
) -> None:
    found = requirements_of(compiled(with_kfp_packages)[0])
    assert found == StepRequirements(("kfp-kubernetes",))


def test_hand_written_scripts() -> None:
    script = (
        "python3 -m pip install --index-url=https://mirror/simple -f /wheels 'x[extra]==1' "
        "&& python3 -m pip install 'kfp==2.16.1' '--no-deps' "
        '\'typing-extensions>=3.7.4,<5; python_version<"3.9"\' && "$0" "$@"'
    )
    assert parse_pip_script(script) == StepRequirements(
        ("x[extra]==1",), ("https://mirror/simple",), ("/wheels",)
    )
    assert parse_pip_script("python3 -m pip install 'kfp==2.16.1' '--no-deps'") is None
    assert parse_pip_script("echo nothing to install") is None
    assert parse_pip_script("pip install 'unterminated") is None


def test_the_digest_ignores_package_order_but_not_indexes_or_python() -> None:
    def digest(requirements: StepRequirements, python: str = sys.version) -> str:
        return environment_digest(requirements, python=python, base=sys.prefix)

    first = digest(StepRequirements(("a", "b")))
    assert first == digest(StepRequirements(("b", "a", "a")))
    assert first != digest(StepRequirements(("a",)))
    assert first != digest(StepRequirements(("a", "b"), ("http://index/simple",)))
    assert first != digest(StepRequirements(("a", "b")), python="3.12.0")
    assert first != environment_digest(
        StepRequirements(("a", "b")), python=sys.version, base=sys.prefix, find_links=["/w"]
    )
