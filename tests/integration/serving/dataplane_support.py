"""What the data-plane tests share: models written by the tests, a recording `FleetEvents`,
and a load of concurrent clients that counts every answer."""

from __future__ import annotations

import asyncio
import collections
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from headrace_serving import RevisionPlan, ServiceKey
from headrace_testing.metrics import data_points

ROW = [5.1, 3.5, 1.4, 0.2]
V2 = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]}


def iris_models(folder: Path) -> tuple[Path, Path]:
    """Two LogisticRegression models on iris (strongly and weakly regularised)."""
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    paths = (folder / "a" / "model.joblib", folder / "b" / "model.joblib")
    for path, c in zip(paths, (1.0, 0.01), strict=True):
        path.parent.mkdir(parents=True)
        joblib.dump(LogisticRegression(C=c, max_iter=500).fit(x, y), path)
    return paths


def slow_model(folder: Path, seconds: float) -> Path:
    """A custom model that takes ``seconds`` per call (a request that stays in flight)."""
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(
        textwrap.dedent(
            f"""
            import time

            class Model:
                inputs = [{{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}}]
                outputs = [{{"name": "output-0", "datatype": "FP64", "shape": [-1]}}]

                def predict(self, inputs):
                    time.sleep({seconds})
                    return {{"output-0": inputs["input-0"].sum(axis=1)}}
            """
        )
    )
    return folder


def plan(name: str, storage_uri: Path | str, **kwargs: Any) -> RevisionPlan:
    return RevisionPlan(name=name, model_name="iris", storage_uri=str(storage_uri), **kwargs)


class Recorder:
    """A `FleetEvents` that keeps every event, and lets a test await one."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self._signal = asyncio.Event()

    def _record(self, *event: Any) -> None:
        self.events.append(event)
        signal, self._signal = self._signal, asyncio.Event()
        signal.set()

    def revision_ready(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self._record("ready", key, revision, replicas)

    def revision_failed(self, key: ServiceKey, revision: str, reason: str) -> None:
        self._record("failed", key, revision, reason)

    def scaled(self, key: ServiceKey, revision: str, replicas: int) -> None:
        self._record("scaled", key, revision, replicas)

    def logged(self, key: ServiceKey, revision: str, kind: str, request_id: str, body: bytes,
               content_type: str) -> None:  # fmt: skip
        self._record("logged", key, revision, kind, request_id, body, content_type)

    def traffic(self, key: ServiceKey, window_seconds: float, revisions: list[Any]) -> None:
        self._record("traffic", key, window_seconds, revisions)

    def of(self, kind: str, revision: str | None = None) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] == kind and revision in (None, e[2])]

    async def wait_for(
        self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = ""
    ) -> Any:
        try:
            async with asyncio.timeout(timeout):
                while not (found := predicate()):
                    await self._signal.wait()
        except TimeoutError:
            raise AssertionError(f"no {what or 'event'} in {timeout} s: {self.events}") from None
        return found

    async def ready(self, revision: str, timeout: float = 60.0) -> None:
        """Wait for the revision's ``revision_ready`` (or fail on its ``revision_failed``)."""
        found = await self.wait_for(
            lambda: self.of("ready", revision) or self.of("failed", revision),
            timeout,
            f"ready of {revision}",
        )
        assert found[0][0] == "ready", found


@dataclass
class Load:
    """``concurrency`` clients posting the v2 infer request in a loop until stopped."""

    client: httpx.AsyncClient
    url: str
    concurrency: int = 4
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    revisions: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[str] = field(default_factory=list)
    _stop: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def _client(self) -> None:
        while not self._stop:
            try:
                answer = await self.client.post(f"{self.url}/v2/models/iris/infer", json=V2)
            except httpx.HTTPError as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                continue
            self.statuses[answer.status_code] += 1
            self.revisions[answer.headers.get("x-headrace-revision", "")] += 1
            if answer.status_code != 200:
                self.failures.append(f"{answer.status_code}: {answer.text}")
            answered, self._answered = self._answered, asyncio.Event()
            answered.set()

    async def __aenter__(self) -> Load:
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.concurrency)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop = True
        await asyncio.gather(*self._tasks)

    async def until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Let the load run until ``predicate`` holds (checked as answers come in)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._answered.wait()


def served(reader: InMemoryMetricReader, service: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(revision, status) -> (requests counted, durations recorded) the routers measured for
    the InferenceService ``service`` ("namespace/name"); durations are by revision only, so
    each status of a revision shows that revision's count of durations."""
    requests: dict[tuple[str, int], int] = {}
    timed: dict[str, int] = {}
    for name, labels, point in data_points(reader):
        if labels.get("inference_service") != service:
            continue
        revision = str(labels["revision"])
        if name == "headrace.inference.requests":
            status = int(labels["http.response.status_code"])
            requests[(revision, status)] = int(point.value)
        elif name == "headrace.inference.duration":
            timed[revision] = int(point.count)
    return {key: (n, timed.get(key[0], 0)) for key, n in requests.items()}
