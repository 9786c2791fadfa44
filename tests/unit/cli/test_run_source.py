"""Loading pipelines the way `headrace run submit FILE` and `Client.submit` do: .py files
with @dsl.pipeline (compiled with the real kfp), compiled YAML, text and dicts."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from headrace.run_errors import PipelineLoadError
from headrace.run_source import load_file, load_source

TWO_PIPELINES = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component(base_image="python:3.11")
    def echo(text: str) -> str:
        return text

    @dsl.pipeline(name="first-pipeline")
    def first(text: str = "one"):
        echo(text=text)

    @dsl.pipeline(name="second-pipeline")
    def second(text: str = "two"):
        echo(text=text)
    """
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_py_file_with_one_pipeline_is_compiled(tmp_path: Path) -> None:
    one = TWO_PIPELINES.split('@dsl.pipeline(name="second-pipeline")')[0]
    spec, _ = load_file(write(tmp_path, "one.py", one))
    assert spec["pipelineInfo"]["name"] == "first-pipeline"
    assert spec["root"]["inputDefinitions"]["parameters"]["text"]["defaultValue"] == "one"


def test_a_py_file_with_two_pipelines_needs_a_choice(tmp_path: Path) -> None:
    path = write(tmp_path, "two.py", TWO_PIPELINES)
    with pytest.raises(PipelineLoadError) as caught:
        load_file(path)
    message = str(caught.value)
    assert "defines 2 pipelines" in message
    assert "first (first-pipeline), second (second-pipeline)" in message
    assert "--pipeline NAME" in message


@pytest.mark.parametrize("wanted", ["second", "second-pipeline"])
def test_the_pipeline_is_chosen_by_python_or_pipeline_name(tmp_path: Path, wanted: str) -> None:
    spec, _ = load_file(write(tmp_path, "two.py", TWO_PIPELINES), pipeline_name=wanted)
    assert spec["pipelineInfo"]["name"] == "second-pipeline"


def test_an_unknown_choice_lists_the_pipelines(tmp_path: Path) -> None:
    with pytest.raises(PipelineLoadError, match=r"defines no pipeline 'third' \(its pipelines"):
        load_file(write(tmp_path, "two.py", TWO_PIPELINES), pipeline_name="third")


def test_a_py_file_without_a_pipeline_says_so(tmp_path: Path) -> None:
    with pytest.raises(PipelineLoadError, match=r"defines no @dsl\.pipeline"):
        load_file(write(tmp_path, "none.py", "x = 1\n"))


def test_a_py_file_that_fails_to_import_names_the_error(tmp_path: Path) -> None:
    with pytest.raises(PipelineLoadError, match=r"importing .*broken.py failed: ZeroDivisionError"):
        load_file(write(tmp_path, "broken.py", "1 / 0\n"))


def test_a_py_file_may_import_its_neighbours(tmp_path: Path) -> None:
    write(tmp_path, "helpers.py", TWO_PIPELINES)
    spec, _ = load_file(write(tmp_path, "main.py", "from helpers import first\n"))
    assert spec["pipelineInfo"]["name"] == "first-pipeline"


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(PipelineLoadError, match=r"no pipeline file at .*nope.yaml"):
        load_file(tmp_path / "nope.yaml")


def test_compiled_yaml_json_text_and_dict_give_the_same_spec(tmp_path: Path) -> None:
    spec, _ = load_file(write(tmp_path, "two.py", TWO_PIPELINES), pipeline_name="first")
    text = yaml.safe_dump(spec)
    as_yaml = write(tmp_path, "p.yaml", text)
    as_json = write(tmp_path, "p.json", json.dumps(spec))
    for source in (as_yaml, str(as_yaml), str(as_json), text, spec):
        assert load_source(source)[0] == spec


def test_a_pipeline_object_is_compiled_in_process(tmp_path: Path) -> None:
    from headrace.run_source import import_file

    names = import_file(write(tmp_path, "two.py", TWO_PIPELINES))
    spec, _ = load_source(names["second"])
    assert spec["pipelineInfo"]["name"] == "second-pipeline"


def test_other_objects_are_refused() -> None:
    with pytest.raises(PipelineLoadError, match="cannot submit a int"):
        load_source(42)


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PipelineLoadError, match="neither a compiled pipeline"):
        load_file(write(tmp_path, "p.txt", "hello"))
