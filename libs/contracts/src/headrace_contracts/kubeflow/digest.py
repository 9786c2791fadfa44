"""The digest of an applied manifest, the same in the CLI and the trainer: applying a job
whose name exists is a no-op when the digests match, and refused when they differ."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["manifest_digest"]


def manifest_digest(document: Mapping[str, Any], working_dir: str = "") -> str:
    """``sha256:<hex>`` of the document as canonical JSON, with the folder it runs in."""
    text = json.dumps(
        {"manifest": document, "working_dir": working_dir},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
