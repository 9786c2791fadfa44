"""The metadata service (and, for pipelines, the scheduler and trainer) on a background event
loop, so the synchronous Client and the CLI are used from plain test functions as a user's
code would use them; and a recorder of the registry's events (imported by name)."""

from __future__ import annotations

from headrace_runtime import Settings
from headrace_testing.background import Background


class Platform(Background):
    """Services started on one background event loop; :meth:`stop` stops them all. The
    registry's events (``headrace.model.>``) are kept in :attr:`events`."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.nats_url, "headrace.model.>")
        self.settings = settings
