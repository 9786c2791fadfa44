"""The training jobs' controllers of one trainer: one task per job with work to do.

`JobManager.wake(job_id)` starts the job's controller (or pokes the running one); at
service start every job with work (active, asked something, or waiting for its TTL) gets
one, so a trainer restarted after ``kill -9`` adopts the gangs its predecessor left. At stop
the controllers are cancelled and the gangs run on, for the next trainer to adopt.

One trainer replica drives training jobs: run the trainer with one replica when you use
them (a second replica would not see the first one's controllers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from headrace_contracts import JobCondition

from .controller import ControllerDeps, JobController

__all__ = ["JobManager"]

log = logging.getLogger("headrace.trainer.jobs")


class JobManager:
    def __init__(self, deps: ControllerDeps) -> None:
        self.deps = deps
        self._controllers: dict[str, tuple[JobController, asyncio.Task[None]]] = {}
        self._closed = False

    def wake(self, job_id: str) -> None:
        """Have ``job_id``'s controller look at its row again (starting one if none runs)."""
        if self._closed:
            return
        found = self._controllers.get(job_id)
        if found is not None and not found[1].done():
            found[0].poke()
            return
        controller = JobController(job_id, self.deps)
        task = asyncio.create_task(controller.run(), name=f"training-job {job_id}")
        self._controllers[job_id] = (controller, task)
        task.add_done_callback(lambda done: self._ended(job_id, done))

    def command_failed(self, job_id: str, condition: JobCondition | None) -> None:
        """Have ``job_id``'s running controller keep ``condition`` (a ``CommandFailed`` the
        give-up hook wrote to the row) in what it writes, or drop it (None)."""
        found = self._controllers.get(job_id)
        if found is not None and not found[1].done():
            found[0].command_failed(condition)

    def _ended(self, job_id: str, task: asyncio.Task[None]) -> None:
        found = self._controllers.get(job_id)
        if found is not None and found[1] is task:
            del self._controllers[job_id]

    async def start(self) -> None:
        for job_id in await asyncio.to_thread(self.deps.rows.to_drive):
            self.wake(job_id)

    async def stop(self) -> None:
        self._closed = True
        tasks = [task for _, task in self._controllers.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._controllers.clear()

    def running(self) -> list[str]:
        return [job_id for job_id, (_, task) in self._controllers.items() if not task.done()]
