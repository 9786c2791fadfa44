"""Page tokens: round trip, and a clear refusal of anything else."""

from __future__ import annotations

from datetime import datetime

import pytest

from headrace_metadata.runs.page_token import BadQuery, Cursor, decode, encode


def test_a_token_round_trips_its_cursor() -> None:
    when = Cursor("created", False, datetime(2026, 12, 1, 9, 0, 0, 123000), "run-7")
    assert decode(encode(when), sort="created", ascending=False) == when
    took = Cursor("duration", True, 12.5, "run-8")
    assert decode(encode(took), sort="duration", ascending=True) == took


@pytest.mark.parametrize(
    "token", ["abc", "!!!", "eyJzIjoxfQ", encode(Cursor("finished", False, 1.0, "x"))]
)
def test_a_token_that_is_not_one_is_refused_with_the_fix(token: str) -> None:
    with pytest.raises(BadQuery) as caught:
        decode(token, sort="finished", ascending=False)
    shown = token if len(token) <= 40 else token[:37] + "..."  # a long one is cut short
    assert str(caught.value) == (
        f"page_token {shown!r} is not a page token of this listing: pass the next_page_token "
        "of the previous page (same filters and sort), or leave it out"
    )


def test_a_token_of_another_sort_is_refused() -> None:
    token = encode(Cursor("created", False, datetime(2026, 1, 1), "r"))
    with pytest.raises(BadQuery, match=r"continues a listing sorted by created \(descending\)"):
        decode(token, sort="created", ascending=True)
