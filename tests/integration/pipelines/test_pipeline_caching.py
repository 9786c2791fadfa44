"""Caching: an execution with the same component, image and inputs is reused."""

from pathlib import Path

from kfp import dsl
from kfp.dsl import Dataset, Input, Output
from pipeline_harness import Platform, step

from headrace_artifacts import FileStore
from headrace_runtime import Settings


@dsl.component
def make(folder: str, n: int, out: Output[Dataset]) -> int:
    import os

    with open(os.path.join(folder, "make-runs"), "a") as f:
        f.write("x")
    with open(out.path, "w") as f:
        f.write(str(n))
    return n * 2


@dsl.component
def use(folder: str, data: Input[Dataset]) -> str:
    import os

    with open(os.path.join(folder, "use-runs"), "a") as f:
        f.write("x")
    with open(data.path) as f:
        return "read " + f.read()


@dsl.pipeline
def cached(folder: str, n: int) -> str:
    made = make(folder=folder, n=n)
    return use(folder=folder, data=made.outputs["out"]).output


@dsl.pipeline
def uncached_task(folder: str, n: int) -> str:
    made = make(folder=folder, n=n).set_caching_options(False)
    return use(folder=folder, data=made.outputs["out"]).output


def runs(folder: Path, name: str) -> int:
    marker = folder / f"{name}-runs"
    return len(marker.read_text()) if marker.exists() else 0


async def test_second_run_is_served_from_the_cache(platform: Platform, tmp_path: Path) -> None:
    args = {"folder": str(tmp_path), "n": 4}
    first = await platform.run(cached, args)
    second = await platform.run(cached, args)
    assert first.state == second.state == "SUCCEEDED"
    assert second.output_parameters == first.output_parameters == {"Output": "read 4"}
    assert runs(tmp_path, "make") == runs(tmp_path, "use") == 1
    made = step(second, "make")
    assert made is not None
    assert made.state == "CACHED"
    assert made.cached
    assert made.cache_source_run_id == first.run_id
    assert made.output_parameters == {"Output": 8}
    first_made = step(first, "make")
    assert first_made is not None
    assert made.output_artifacts["out"][0].uri == first_made.output_artifacts["out"][0].uri

    other_input = await platform.run(cached, {**args, "n": 5})
    assert other_input.output_parameters == {"Output": "read 5"}
    assert runs(tmp_path, "make") == 2


async def test_no_cache_for_the_run_or_the_task(platform: Platform, tmp_path: Path) -> None:
    args = {"folder": str(tmp_path), "n": 1}
    await platform.run(cached, args)
    no_cache = await platform.run(cached, args, enable_caching=False)
    assert no_cache.state == "SUCCEEDED"
    assert runs(tmp_path, "make") == runs(tmp_path, "use") == 2
    assert not any(s.cached for s in no_cache.steps)

    await platform.run(uncached_task, args)
    again = await platform.run(uncached_task, args)
    assert again.state == "SUCCEEDED"
    made = step(again, "make")
    assert made is not None
    assert made.state == "SUCCEEDED"
    assert runs(tmp_path, "make") == 4


async def test_a_cached_artifact_that_is_gone_is_a_miss(
    platform: Platform, tmp_path: Path, settings: Settings
) -> None:
    args = {"folder": str(tmp_path), "n": 2}
    first = await platform.run(cached, args)
    made = step(first, "make")
    assert made is not None
    store = FileStore(settings.home / "artifacts")
    assert store.delete(store.key_for(made.output_artifacts["out"][0].uri))
    second = await platform.run(cached, args)
    assert second.state == "SUCCEEDED", second.error
    assert second.output_parameters == {"Output": "read 2"}
    assert runs(tmp_path, "make") == 2
    remade = step(second, "make")
    assert remade is not None
    assert remade.state == "SUCCEEDED"
