"""``python -m headrace_trainer.forkserver``: the warm fork server (see `server`)."""

from .server import serve

serve()
