"""Adaptive batching: concurrent requests merged into one model call.

A request's arrays wait until ``max_batch_size`` rows are pending or ``max_latency`` seconds
have passed since the first of them, whichever comes first; then the pending requests whose
inputs can be stacked (same names, datatypes and row shapes) are concatenated along the first
axis, predicted in one call, and the outputs split back by each request's row count. While a
batch is being predicted, new requests gather for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .errors import PredictionFailed

__all__ = ["BatchKey", "Batcher", "batch_key", "merge", "split"]

Predict = Callable[[Mapping[str, np.ndarray]], Awaitable[dict[str, np.ndarray]]]
BatchKey = tuple[tuple[str, str, tuple[int, ...]], ...]


def batch_key(inputs: Mapping[str, np.ndarray]) -> BatchKey:
    """Requests with equal keys can be stacked into one batch."""
    return tuple((name, a.dtype.str, a.shape[1:]) for name, a in inputs.items())


def merge(requests: list[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    names = list(requests[0])
    return {name: np.concatenate([r[name] for r in requests]) for name in names}


def split(outputs: Mapping[str, np.ndarray], rows: list[int]) -> list[dict[str, np.ndarray]]:
    """Each request's share of a batch's outputs; `PredictionFailed` if the row counts differ."""
    total = sum(rows)
    for name, array in outputs.items():
        if array.ndim == 0 or array.shape[0] != total:
            raise PredictionFailed(
                f"the model returned output {name!r} of shape {list(array.shape)} for a batch "
                f"of {total} rows: a batched model must answer one row per input row"
            )
    bounds = np.cumsum(rows)[:-1]
    pieces = {name: np.split(array, bounds) for name, array in outputs.items()}
    return [{name: pieces[name][i] for name in outputs} for i in range(len(rows))]


@dataclass(slots=True)
class _Pending:
    inputs: Mapping[str, np.ndarray]
    rows: int
    future: asyncio.Future[dict[str, np.ndarray]]
    key: BatchKey = field(default=())


class Batcher:
    def __init__(self, predict: Predict, *, max_batch_size: int, max_latency: float) -> None:
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_latency = max_latency
        self._pending: list[_Pending] = []
        self._rows = 0
        self._timer: asyncio.TimerHandle | None = None
        self._running: asyncio.Task[None] | None = None
        self.calls = 0
        """Model calls made (for tests and metrics)."""

    async def submit(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        loop = asyncio.get_running_loop()
        rows = min((a.shape[0] if a.ndim else 1) for a in inputs.values())
        pending = _Pending(inputs, rows, loop.create_future(), batch_key(inputs))
        self._pending.append(pending)
        self._rows += rows
        if self._rows >= self.max_batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_latency, self._flush)
        return await pending.future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending, self._rows = self._pending, [], 0
        previous = self._running
        self._running = asyncio.get_running_loop().create_task(self._run(batch, previous))

    async def _run(self, batch: list[_Pending], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:  # one model call at a time, in arrival order
            await asyncio.wait([previous])
        groups: dict[BatchKey, list[_Pending]] = {}
        for item in batch:
            groups.setdefault(item.key, []).append(item)
        for group in groups.values():
            await self._predict_group(group)

    async def _predict_group(self, group: list[_Pending]) -> None:
        try:
            if len(group) == 1:
                results = [await self._predict(group[0].inputs)]
            else:
                outputs = await self._predict(merge([item.inputs for item in group]))
                results = split(outputs, [item.rows for item in group])
            self.calls += 1
        except Exception as exc:
            for item in group:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        for item, result in zip(group, results, strict=True):
            if not item.future.done():
                item.future.set_result(result)
