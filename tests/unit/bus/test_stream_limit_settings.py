"""Stream limits from the environment: defaults, units, and wrong values named."""

from __future__ import annotations

import pytest

from headrace_bus import (
    DLQ_LIMITS,
    DOMAIN_LIMITS,
    EXTERNAL_LIMITS,
    BusConfig,
    StreamLimits,
    stream_configs,
)
from headrace_contracts import CATALOGUE
from headrace_runtime import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for stream in ("STREAM", "DLQ", "EXT"):
        monkeypatch.delenv(f"HEADRACE_{stream}_MAX_AGE_SECONDS", raising=False)
        monkeypatch.delenv(f"HEADRACE_{stream}_MAX_BYTES", raising=False)


def test_services_apply_the_documented_defaults() -> None:
    config = load_settings().bus_config("scheduler")
    assert config.apply_limits is True
    assert config.stream_limits == StreamLimits(max_age=7 * 86400, max_bytes=4 << 30)
    assert config.dlq_limits == StreamLimits(max_age=30 * 86400, max_bytes=1 << 30)
    assert config.external_limits == StreamLimits(max_age=7 * 86400, max_bytes=1 << 30)
    assert (
        config.stream_limits,
        config.dlq_limits,
        config.external_limits,
    ) == (DOMAIN_LIMITS, DLQ_LIMITS, EXTERNAL_LIMITS)


def test_clients_create_streams_with_the_defaults_but_never_change_them() -> None:
    assert BusConfig().apply_limits is False
    assert BusConfig().stream_limits == DOMAIN_LIMITS


def test_limits_come_from_the_environment_with_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_STREAM_MAX_AGE_SECONDS", "3600")
    monkeypatch.setenv("HEADRACE_STREAM_MAX_BYTES", "512MiB")
    monkeypatch.setenv("HEADRACE_DLQ_MAX_AGE_SECONDS", "0")
    monkeypatch.setenv("HEADRACE_DLQ_MAX_BYTES", "0")
    monkeypatch.setenv("HEADRACE_EXT_MAX_BYTES", "1000000")
    config = load_settings().bus_config("metadata")
    assert config.stream_limits == StreamLimits(max_age=3600, max_bytes=512 << 20)
    assert config.dlq_limits == StreamLimits(max_age=0, max_bytes=0)
    assert config.external_limits == StreamLimits(max_age=7 * 86400, max_bytes=1_000_000)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("HEADRACE_STREAM_MAX_BYTES", "-1", "must be a size such as 4GiB"),
        ("HEADRACE_STREAM_MAX_BYTES", "lots", "must be a size such as 4GiB"),
        ("HEADRACE_DLQ_MAX_BYTES", "12 parsecs", "must be a size such as 4GiB"),
        ("HEADRACE_STREAM_MAX_AGE_SECONDS", "a week", "valid number"),
        ("HEADRACE_EXT_MAX_AGE_SECONDS", "-5", "greater than or equal to 0"),
        ("HEADRACE_DLQ_MAX_AGE_SECONDS", "0.5", "0 (no limit) or at least 1 second"),
    ],
)
def test_a_wrong_limit_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert f"{variable}={value!r}" in str(raised.value)
    assert reason in str(raised.value)


def test_stream_limits_refuse_negative_values() -> None:
    with pytest.raises(ValueError, match="max_bytes must be 0"):
        StreamLimits(max_age=60, max_bytes=-1)
    with pytest.raises(ValueError, match="max_age must be 0"):
        StreamLimits(max_age=-1, max_bytes=0)


def test_the_duplicate_window_never_outlasts_the_messages() -> None:
    config = BusConfig(stream_limits=StreamLimits(max_age=30, max_bytes=0), duplicate_window=120)
    domain, dlq, external = stream_configs(config, CATALOGUE)
    assert (domain.max_age, domain.duplicate_window, domain.max_bytes) == (30, 30, -1)
    assert (dlq.max_age, dlq.duplicate_window, dlq.max_bytes) == (30 * 86400, 120, 1 << 30)
    assert external.subjects == ["headrace.ext.>"]
