"""Lineage: ML Metadata's graph of artifacts, executions and contexts, recorded from bus
events and rebuilt from the stream (``headrace-metadata --rebuild``)."""

from __future__ import annotations

from .rebuild import rebuild
from .register import register
from .replay import ReplayError
from .tables import LINEAGE_TABLES

__all__ = ["LINEAGE_TABLES", "ReplayError", "rebuild", "register"]
