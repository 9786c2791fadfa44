"""Kubernetes names and label values from Headrace ids, deterministic and collision-safe.

A name is kept as it is when it already is a valid DNS label of the allowed length.
Anything else (upper case, ``/``, ``[``, ``_``, too long) is cleaned *and* given an
8-character hash of the original, so ``a/b`` and ``a-b`` never share a name and the same
id always gets the same name::

    dns_label("train")                      -> "train"
    dns_label("root/for-loop-2[3]/train")   -> "root-for-loop-2-3-train-1f0c2d3e"
    dns_label("x" * 80)                     -> "xxx...x-<hash>" (63 characters)
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["LABEL_MAX", "dns_label", "label_value"]

LABEL_MAX = 63
_HASH = 8
_INVALID = re.compile(r"[^a-z0-9-]+")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_VALUE_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]


def dns_label(text: str, *, max_length: int = LABEL_MAX, letter_first: bool = False) -> str:
    """``text`` as an RFC 1123 DNS label of at most ``max_length`` characters (``letter_first``:
    an RFC 1035 label, as a Service name must be)."""
    if max_length < _HASH + 2:
        raise ValueError(f"a name of at most {max_length} characters cannot hold a hash")
    ok = _LABEL.match(text) and len(text) <= max_length
    if ok and (not letter_first or text[0].isalpha()):
        return text
    clean = _INVALID.sub("-", text.lower()).strip("-")
    if letter_first and not clean[:1].isalpha():
        clean = f"x-{clean}".rstrip("-")
    clean = clean[: max_length - _HASH - 1].rstrip("-")
    return f"{clean}-{_digest(text)}" if clean else f"x{_digest(text)}"


def label_value(text: str) -> str:
    """``text`` as a label value (at most 63 of ``[A-Za-z0-9_.-]``, alphanumeric at both
    ends), hashed as `dns_label` is when it had to change."""
    if len(text) <= LABEL_MAX and _VALUE.match(text):
        return text
    clean = _VALUE_INVALID.sub("-", text).strip("-_.")
    clean = clean[: LABEL_MAX - _HASH - 1].rstrip("-_.")
    return f"{clean}-{_digest(text)}" if clean else _digest(text)
