"""Opaque page tokens for keyset paging: the sort, its direction and the last row's key,
as URL-safe base64 of JSON. Pure; a token that does not decode is a :class:`BadQuery`."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

HINT = "pass the next_page_token of the previous page (same filters and sort), or leave it out"


class BadQuery(ValueError):
    """A ``ListRuns`` that cannot be answered; the message names the field and the fix."""


@dataclass(frozen=True)
class Cursor:
    sort: str
    ascending: bool
    value: datetime | float
    run_id: str


def encode(cursor: Cursor) -> str:
    value: str | float = (
        cursor.value.isoformat() if isinstance(cursor.value, datetime) else cursor.value
    )
    data = {"s": cursor.sort, "a": cursor.ascending, "v": value, "r": cursor.run_id}
    text = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode(token: str, *, sort: str, ascending: bool) -> Cursor:
    """The cursor in ``token``, which must come from a listing sorted the same way."""
    shown = token if len(token) <= 40 else token[:37] + "..."
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        cursor = Cursor(data["s"], data["a"], data["v"], data["r"])
        if not isinstance(cursor.run_id, str) or not isinstance(cursor.ascending, bool):
            raise TypeError("bad fields")
        value: datetime | float
        if cursor.sort == "duration":
            if not isinstance(cursor.value, int | float) or isinstance(cursor.value, bool):
                raise TypeError("duration is not a number")
            value = float(cursor.value)
        else:
            value = datetime.fromisoformat(str(cursor.value))
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError):
        why = f"page_token {shown!r} is not a page token of this listing: {HINT}"
        raise BadQuery(why) from None
    if (cursor.sort, cursor.ascending) != (sort, ascending):
        order = "ascending" if cursor.ascending else "descending"
        raise BadQuery(
            f"page_token {shown!r} continues a listing sorted by {cursor.sort} ({order}), "
            f"not this one: {HINT}"
        )
    return Cursor(sort, ascending, value, cursor.run_id)
