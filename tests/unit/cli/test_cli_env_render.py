"""``headrace env``: durations it accepts and how it prints environments (pure)."""

from __future__ import annotations

import pytest

from headrace.env_args import parse_duration
from headrace.env_render import render_environments, render_pruned, render_size
from headrace_contracts import EnvironmentsPruned, EnvironmentView


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("45s", 45), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2W", 1209600)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-1h", "0", "3y"])
def test_bad_durations_are_named(text: str) -> None:
    with pytest.raises(ValueError, match=f"positive duration such as 90s, .*, got {text!r}"):
        parse_duration(text)


def test_sizes() -> None:
    assert [render_size(n) for n in (0, 999, 1000, 28_700, 12_345_678, 3 * 10**12)] == [
        "0 B",
        "999 B",
        "1.0 KB",
        "28.7 KB",
        "12.3 MB",
        "3000.0 GB",
    ]


def view(digest: str, **fields: object) -> EnvironmentView:
    return EnvironmentView.model_validate({"digest": digest, **fields})


def test_the_list_table() -> None:
    assert render_environments([]) == "no step environments cached"
    text = render_environments(
        [
            view(
                "abc",
                packages=["a", "b==2"],
                index_urls=["https://mirror/simple"],
                size_bytes=2_000_000,
                created_at="2026-12-01T07:00:00.5+00:00",
                last_used_at="2026-12-01T08:00:00+00:00",
                in_use=True,
            ),
            view("defabc", packages=["c"], find_links=["/wheels"]),
        ]
    )
    assert text.splitlines() == [
        "DIGEST  SIZE    CREATED              LAST USED            IN USE  PACKAGES",
        "abc     2.0 MB  2026-12-01 07:00:00  2026-12-01 08:00:00  yes     a, b==2 "
        "(from https://mirror/simple)",
        "defabc  0 B     -                    -                    no      c "
        "(from find-links /wheels)",
    ]


def test_the_prune_report() -> None:
    pruned = EnvironmentsPruned(
        removed=[view("abc", packages=["a"], size_bytes=1500), view("def", packages=["b"])],
        in_use=["123"],
    )
    assert render_pruned(pruned).splitlines() == [
        "removed abc (a), 1.5 KB",
        "removed def (b), 0 B",
        "kept 123: a running step uses it",
        "removed 2 step environments, freed 1.5 KB",
    ]
