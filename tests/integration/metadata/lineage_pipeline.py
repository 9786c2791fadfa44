"""A real kfp pipeline whose lineage the tests assert: a dataset goes into ``train``, which
writes a model; ``evaluate`` reads the model and logs metrics."""

from typing import Any

from kfp import dsl
from sqlmodel import Session, select

from headrace_metadata.lineage.tables import LineageContext
from headrace_runtime import Service
from headrace_testing import wait_for


@dsl.component
def train(data: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model]) -> None:
    with open(data.path) as f:
        rows = len(f.read().splitlines())
    with open(model.path, "w") as f:
        f.write(f"weights for {rows} rows")


@dsl.component
def evaluate(model: dsl.Input[dsl.Model], metrics: dsl.Output[dsl.Metrics]) -> None:
    with open(model.path) as f:
        f.read()
    metrics.log_metric("accuracy", 0.97)


@dsl.pipeline
def churn(data: dsl.Input[dsl.Dataset]) -> None:
    trained = train(data=data)
    evaluate(model=trained.outputs["model"])


def metadata_service(services: list[Service]) -> Service:
    return next(s for s in services if s.name == "metadata")


async def wait_recorded(service: Service, run_id: str, state: str = "SUCCEEDED") -> None:
    """Until the metadata service has recorded the run's end in lineage."""

    def recorded() -> bool:
        assert service.engine is not None
        with Session(service.engine) as session:
            found: Any = session.exec(
                select(LineageContext).where(
                    LineageContext.type_name == "system.PipelineRun",
                    LineageContext.name == run_id,
                )
            ).first()
            return found is not None and found.state == state

    await wait_for(recorded, timeout=30, what=f"lineage of {run_id} {state}")
