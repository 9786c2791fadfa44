"""Where the metadata service's HTTP API listens comes from ``HEADRACE_METADATA_HTTP_*``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headrace_metadata.api import HttpSettings


def test_defaults_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert HttpSettings().model_dump() == {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 8765,
        "answer_timeout": 15.0,
    }
    monkeypatch.setenv("HEADRACE_METADATA_HTTP_PORT", "0")
    monkeypatch.setenv("HEADRACE_METADATA_HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("HEADRACE_METADATA_HTTP_ENABLED", "false")
    monkeypatch.setenv("HEADRACE_METADATA_HTTP_ANSWER_TIMEOUT", "2.5")
    assert HttpSettings().model_dump() == {
        "enabled": False,
        "host": "0.0.0.0",
        "port": 0,
        "answer_timeout": 2.5,
    }


def test_a_port_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_METADATA_HTTP_PORT", "70000")
    with pytest.raises(ValidationError, match="port"):
        HttpSettings()
