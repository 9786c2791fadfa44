"""Objects as YAML documents, as ``kubectl apply -f`` reads them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from .meta import Manifests

__all__ = ["to_yaml"]


def to_yaml(manifests: Iterable[Manifests]) -> str:
    """Every object of every `Manifests`, ``---``-separated, in creation order."""
    documents: list[dict[str, Any]] = []
    for one in manifests:
        documents.extend(one.to_dicts())
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)
