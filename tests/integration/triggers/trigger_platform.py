"""What the trigger tests share besides fixtures: the order pipeline, the trainer starter and
a publisher of CloudEvents with plain nats-py (as an external system would publish them)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import nats

from headrace_runtime import Service, Settings
from headrace_testing.background import Background

ORDER_TYPE = "com.example.order.created"
ORDER_PIPELINE = Path(__file__).parents[3] / "examples" / "order_pipeline.py"


def start_trainer(background: Background, settings: Settings) -> Service:
    from headrace_trainer.app import build as build_trainer
    from headrace_trainer.config import TrainerSettings

    return background.start(build_trainer(settings, trainer=TrainerSettings(concurrency=2)))


def publish(
    url: str,
    data: Any,
    *,
    event_id: str | None = None,
    event_type: str = ORDER_TYPE,
    subject: str | None = None,
    msg_id: str | None = None,
    raw: bytes | None = None,
) -> str:
    """Publish one CloudEvent with plain nats-py (as an external system would); its ce-id."""
    event_id = event_id or str(uuid.uuid4())

    async def send() -> None:
        nc = await nats.connect(url)
        try:
            headers = {
                "ce-specversion": "1.0",
                "ce-id": event_id,
                "ce-source": "/shop",
                "ce-type": event_type,
                "content-type": "application/json",
                "Nats-Msg-Id": msg_id or event_id,
            }
            body = raw if raw is not None else json.dumps(data).encode()
            await nc.jetstream().publish(
                subject or f"headrace.ext.{event_type}", body, headers=headers
            )
        finally:
            await nc.close()

    asyncio.run(send())
    return event_id


def publish_many(url: str, events: list[tuple[str, Any]], *, msg_suffix: str = "") -> None:
    """Publish ``(ce-id, data)`` events over one connection, awaiting each ack;
    ``Nats-Msg-Id`` is the ce-id plus ``msg_suffix``."""

    async def send() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        try:
            acks = []
            for event_id, data in events:
                headers = {
                    "ce-specversion": "1.0",
                    "ce-id": event_id,
                    "ce-source": "/shop",
                    "ce-type": ORDER_TYPE,
                    "content-type": "application/json",
                    "Nats-Msg-Id": event_id + msg_suffix,
                }
                acks.append(
                    js.publish(
                        f"headrace.ext.{ORDER_TYPE}", json.dumps(data).encode(), headers=headers
                    )
                )
                if len(acks) >= 100:
                    await asyncio.gather(*acks)
                    acks = []
            await asyncio.gather(*acks)
        finally:
            await nc.close()

    asyncio.run(send())
