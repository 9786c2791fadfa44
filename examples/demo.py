"""`make demo`: start the whole platform on this machine and show that it is healthy.

Until the pipeline service lands, the demo starts the platform (embedded nats-server and
the five services), publishes one event through the bus and reads it back from the metadata
service, then prints the platform's status and how to stop it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from headrace_bus import Bus, BusConfig
from headrace_contracts import ArtifactRef, ArtifactWritten, ListArtifacts

BIN = Path(sys.executable).parent
HOME = Path(os.environ.get("HEADRACE_HOME") or Path.home() / ".headrace")


def headrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "headrace"), *args], text=True, capture_output=True)


async def round_trip(nats_url: str) -> None:
    bus = Bus(BusConfig(url=nats_url), source="examples/demo")
    await bus.connect()
    try:
        uri = (HOME / "artifacts" / "demo.txt").as_uri()
        event_id = await bus.publish(
            ArtifactWritten(artifact=ArtifactRef(uri=uri, name="demo"), run_id="demo")
        )
        for _ in range(100):
            reply = await bus.request(ListArtifacts(run_id="demo"), timeout=2)
            if any(r.event_id == event_id for r in reply.artifacts):  # type: ignore[attr-defined]
                print(f"event {event_id} published and recorded by the metadata service")
                return
            await asyncio.sleep(0.1)
        raise SystemExit("the metadata service did not record the demo event")
    finally:
        await bus.close()


def main() -> None:
    up = headrace("up", "--detach")
    print(up.stdout, end="")
    if up.returncode != 0:
        print(up.stderr, end="", file=sys.stderr)
        raise SystemExit(up.returncode)
    status = headrace("status", "--json")
    nats_url = json.loads(status.stdout)["nats_url"]
    asyncio.run(round_trip(nats_url))
    print(headrace("status").stdout, end="")
    print(f"Platform home: {HOME} (logs in {HOME / 'logs'}). Stop it with: .venv/bin/headrace down")


if __name__ == "__main__":
    main()
