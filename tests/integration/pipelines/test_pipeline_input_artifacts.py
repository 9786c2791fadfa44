"""A pipeline that takes input artifacts runs on URIs bound at submission: file:// on the
platform's machine, s3:// in the platform's S3 artifact store (a real ``weed`` server)."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from kfp import dsl
from pipeline_harness import Platform, step

from headrace_artifacts import open_store
from headrace_contracts import PromoteModel, RegisterModel, ResolvedModel, ResolveModel
from headrace_runtime import Settings
from headrace_testing.s3 import S3Server, run_s3_server

StartPlatform = Callable[..., Awaitable[Platform]]


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite, and on PostgreSQL when CI gives one."""
    return settings_on_each_database


@dsl.component
def count_lines(data: dsl.Input[dsl.Dataset]) -> int:
    with open(data.path) as f:
        return len(f.read().splitlines())


@dsl.pipeline
def lines(data: dsl.Input[dsl.Dataset]) -> int:
    return count_lines(data=data).output


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("a,1\nb,2\nc,3\n")
    return path


async def test_a_file_uri_is_bound_and_read_by_the_step(platform: Platform, dataset: Path) -> None:
    run = await platform.run(lines, {"data": dataset.as_uri()})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters == {"Output": 3}
    assert run.arguments == {"data": dataset.as_uri()}
    counted = step(run, "count-lines")
    assert counted is not None
    assert counted.state == "SUCCEEDED"


async def test_bad_input_artifacts_are_rejected_naming_the_input(
    platform: Platform, tmp_path: Path
) -> None:
    missing = (tmp_path / "nowhere.csv").as_uri()
    run = await platform.run(lines, {"data": missing})
    assert run.state == "REJECTED"
    assert run.error == (
        f"task 'root', input artifact 'data': {missing} does not exist on the platform's "
        "machine: check the path, or copy the file there"
    )
    run = await platform.run(lines, {"data": "s3://bucket/train.csv"})
    assert run.state == "REJECTED"
    assert run.error == (
        "task 'root', input artifact 'data': the scheme of 's3://bucket/train.csv' is not one "
        "this platform's artifact store serves (it serves file://): copy the artifact there "
        "and pass that URI"
    )
    run = await platform.run(lines, {"data": "models:/churn@champion"})
    assert run.state == "REJECTED"
    assert run.error.startswith(
        "task 'root', arguments: 'models:/churn@champion' does not resolve: "
    )
    assert "churn" in run.error.split("does not resolve: ", 1)[1]
    run = await platform.run(lines, {})
    assert run.state == "REJECTED"
    assert run.error.startswith("task 'root', input artifact 'data': is required: pass its URI")


async def test_a_model_uri_is_bound_to_the_version_its_alias_names_at_submission(
    platform: Platform, dataset: Path, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.csv"
    newer.write_text("just one line\n")
    await platform.bus.publish(RegisterModel(model_name="churn", uri=dataset.as_uri()))
    await platform.bus.publish(RegisterModel(model_name="churn", uri=newer.as_uri()))
    await platform.bus.publish(PromoteModel(model_name="churn", version=1, alias="production"))

    async def resolved() -> ResolvedModel:
        reply = await platform.bus.request(ResolveModel(uri="models:/churn@production"))
        assert isinstance(reply, ResolvedModel)
        return reply

    for _ in range(200):
        if (await resolved()).version is not None:
            break
        await asyncio.sleep(0.05)

    run = await platform.run(lines, {"data": "models:/churn@production"})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters == {"Output": 3}  # version 1: the dataset's three lines
    assert run.arguments == {"data": dataset.as_uri()}
    run = await platform.run(lines, {"data": "models:/churn/2"})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters == {"Output": 1}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with run_s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.mark.s3
async def test_an_s3_uri_in_the_platforms_store_is_bound_and_downloaded(
    start_platform: StartPlatform, s3_server: S3Server, dataset: Path
) -> None:
    options = {
        "s3_endpoint": s3_server.endpoint,
        "s3_access_key": s3_server.access_key,
        "s3_secret_key": s3_server.secret_key,
        "s3_secure": s3_server.secure,
        "s3_region": s3_server.region,
    }
    root = f"s3://{s3_server.bucket}/platform"
    store = open_store(root, **options)  # type: ignore[arg-type]
    uri = store.put_file(dataset, "inputs/train.csv").uri
    platform = await start_platform(artifacts=root, **options)

    run = await platform.run(lines, {"data": uri})
    assert run.state == "SUCCEEDED", run.error
    assert run.output_parameters == {"Output": 3}

    run = await platform.run(lines, {"data": f"{root}/inputs/gone.csv"})
    assert run.state == "REJECTED"
    assert run.error == (
        f"task 'root', input artifact 'data': there is nothing at {root}/inputs/gone.csv: "
        "upload the artifact there first, or correct the URI"
    )
    run = await platform.run(lines, {"data": "s3://another-bucket/train.csv"})
    assert run.state == "REJECTED"
    assert run.error == (
        "task 'root', input artifact 'data': s3://another-bucket/train.csv lies outside this "
        f"platform's artifact store ({root}): copy it below {root}/ and pass that URI"
    )
