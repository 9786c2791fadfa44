"""What the ``services`` fixture gives a test: a bus to ask on and the metadata service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from headrace_bus import Bus
from headrace_runtime import Service


@dataclass
class Services:
    bus: Bus
    metadata: Service
    folder: Path
