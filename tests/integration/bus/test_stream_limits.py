"""Stream limits on a real nats-server: applied at start, updated on an existing stream,
left alone by clients, and a refusal explained."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from nats.js.api import StreamConfig, StreamInfo

from headrace_bus import Bus, BusConfig, StreamConfigError, StreamLimits
from headrace_runtime import Service, Settings
from headrace_testing import TestNats

Start = Callable[[Service], Awaitable[Service]]
STREAMS = ("HEADRACE", "HEADRACE_DLQ", "HEADRACE_EXT")


async def infos(bus: Bus) -> dict[str, StreamInfo]:
    js = bus.connection.jetstream()
    return {name: await js.stream_info(name) for name in STREAMS}


def limits(info: StreamInfo) -> tuple[float | None, int | None, float]:
    return info.config.max_age, info.config.max_bytes, info.config.duplicate_window


async def test_a_service_applies_the_configured_limits_to_every_stream(
    settings: Callable[..., Settings], client: Bus, started: Start
) -> None:
    await started(
        Service(
            "alpha",
            settings(
                stream_max_age_seconds=3600,
                stream_max_bytes="64MiB",
                dlq_max_age_seconds=7200,
                dlq_max_bytes=32 << 20,
                ext_max_age_seconds=60,
                ext_max_bytes="16MiB",
            ),
        )
    )
    found = await infos(client)
    assert limits(found["HEADRACE"]) == (3600, 64 << 20, 120)
    assert limits(found["HEADRACE_DLQ"]) == (7200, 32 << 20, 120)
    # the de-duplication window is cut to the messages' age, which the server demands
    assert limits(found["HEADRACE_EXT"]) == (60, 16 << 20, 60)


async def test_limits_of_existing_streams_are_updated_at_start_and_kept_by_clients(
    settings: Callable[..., Settings], nats_server: TestNats, started: Start
) -> None:
    bare = Bus(BusConfig(url=nats_server.url), source="tests/bare")
    await bare.connect()  # the streams exist, as an older platform left them
    try:
        js = bare.connection.jetstream()
        for name in STREAMS:
            await js.delete_stream(name)
        await js.add_stream(StreamConfig(name="HEADRACE", subjects=["headrace.run.>"]))
        await js.add_stream(StreamConfig(name="HEADRACE_DLQ", subjects=["headrace.dlq.>"]))
        await js.add_stream(StreamConfig(name="HEADRACE_EXT", subjects=["headrace.ext.>"]))
        before = await infos(bare)
        assert limits(before["HEADRACE"])[:2] == (0, -1)  # no limits at all

        first = await started(
            Service("alpha", settings(stream_max_age_seconds=86400, stream_max_bytes="1GiB"))
        )
        after = await infos(bare)
        assert limits(after["HEADRACE"]) == (86400, 1 << 30, 120)
        assert "headrace.step.>" in (after["HEADRACE"].config.subjects or [])  # widened too
        assert limits(after["HEADRACE_DLQ"]) == (30 * 86400, 1 << 30, 120)  # the defaults
        assert limits(after["HEADRACE_EXT"]) == (7 * 86400, 1 << 30, 120)

        # a client (the CLI, the SDK) connecting with its defaults changes nothing
        cli = Bus(BusConfig(url=nats_server.url), source="tests/cli")
        await cli.connect()
        await cli.close()
        assert limits((await infos(bare))["HEADRACE"]) == (86400, 1 << 30, 120)

        # the platform restarted with other limits (and no limit on the DLQ) applies them
        await first.stop()
        await started(
            Service(
                "alpha",
                settings(
                    stream_max_age_seconds=30,
                    stream_max_bytes="2MB",
                    dlq_max_age_seconds=0,
                    dlq_max_bytes=0,
                ),
            )
        )
        again = await infos(bare)
        assert limits(again["HEADRACE"]) == (30, 2_000_000, 30)
        assert limits(again["HEADRACE_DLQ"]) == (0, -1, 120)
    finally:
        await bare.close()


async def test_limits_the_server_cannot_hold_are_refused_with_the_reason(
    nats_server: TestNats,
) -> None:
    huge = StreamLimits(max_age=3600, max_bytes=1 << 60)  # an exbibyte: no disk has it
    bus = Bus(BusConfig(url=nats_server.url, dlq_limits=huge), source="tests/huge")
    with pytest.raises(StreamConfigError) as raised:
        await bus.connect()
    await bus.close()
    message = str(raised.value)
    assert "refused stream HEADRACE_DLQ" in message
    assert f"max bytes {1 << 60} bytes" in message
    assert "HEADRACE_*_MAX_BYTES" in message


# run_service is every service entrypoint's body (headrace-scheduler, ...)
ENTRYPOINT = (
    "from headrace_runtime import Service, run_service; run_service(lambda s: Service('x', s))"
)


def run_entrypoint(home: Path, nats_url: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEADRACE_HOME": str(home), "HEADRACE_NATS_URL": nats_url, **variables}
    return subprocess.run(
        [sys.executable, "-c", ENTRYPOINT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_service_with_a_wrong_limit_exits_at_once_naming_the_variable(tmp_path: Path) -> None:
    # the server is never reached: settings are read first
    done = run_entrypoint(tmp_path, "nats://127.0.0.1:1", HEADRACE_STREAM_MAX_BYTES="-1")
    assert done.returncode != 0
    assert "HEADRACE_STREAM_MAX_BYTES='-1': must be a size such as 4GiB" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_service_whose_limits_the_server_refuses_exits_saying_so(
    tmp_path: Path, nats_server: TestNats
) -> None:
    done = run_entrypoint(tmp_path, nats_server.url, HEADRACE_EXT_MAX_BYTES="1EiB")
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("-c: the NATS server refused stream HEADRACE_EXT"), done.stderr
    assert "insufficient storage" in last
