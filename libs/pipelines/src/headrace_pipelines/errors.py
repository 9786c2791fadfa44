"""The one error a pipeline spec or its arguments raise: it names the task and field."""

from __future__ import annotations


class SpecError(ValueError):
    """A pipeline that cannot run as submitted.

    ``task`` is the task path (``root`` for the pipeline itself) and ``field`` the spec field
    at fault, so the message can say exactly where to look.
    """

    def __init__(self, message: str, *, task: str = "", field: str = "") -> None:
        where = ", ".join(p for p in (f"task {task!r}" if task else "", field) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.task = task
        self.field = field
        self.detail = message
