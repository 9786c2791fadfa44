"""The web dashboard: its built assets (``static/``, built from ``ui/`` by ``make ui``) served
at ``/`` beside the HTTP API, client-side routes answered with ``index.html``."""

from .serve import STATIC, install

__all__ = ["STATIC", "install"]
