"""Plain helpers of the notifications tests: the service under test, publishing events, HTTP
shortcuts, and builders."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pydantic import BaseModel

from deploy.smtp_sink.testing import SinkHandle
from shared.events import new_event
from shared.events.catalogue import PaymentPosted
from shared.events.envelope import Event
from shared.kafka import client_kwargs, kafka_access
from tests.conftest import encode_signed, eventually, kafka_env, running_service, service_definition, token

READ = token("notifications:read")
WRITE = token("notifications:write", "notifications:read")
NOW = datetime.now(UTC)
ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


def _sending_to(sink: SinkHandle, env: dict[str, str]) -> dict[str, str]:
    """NOTIFICATIONS_* settings (without the prefix) for a service that sends to this test's
    sink, with fast retries; `env` overrides them."""
    return {
        "SMTP_PORT": str(sink.smtp_port),
        "SMS_URL": sink.sms_url,
        "RETRY_BASE_SECONDS": "0.2",
        "RETRY_MAX_SECONDS": "1",
        "MAX_ATTEMPTS": "50",
        "SMTP_TIMEOUT_SECONDS": "2",
        **env,
    }


@contextlib.asynccontextmanager
async def running_notifications(
    settings: Any, sink: SinkHandle, **env: str
) -> AsyncIterator[tuple[Any, Any]]:
    """The service, sending to this test's sink, with fast retries; `env` overrides
    NOTIFICATIONS_* settings (without the prefix)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in _sending_to(sink, env).items():
            mp.setenv(f"NOTIFICATIONS_{name}", value)
        async with running_service("notifications", settings) as (app, client):
            yield app, client


@contextlib.asynccontextmanager
async def notifications_process(
    settings: Any, sink: SinkHandle, **env: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, httpx.AsyncClient]]:
    """The service as `make up` runs it: its own process (uvicorn) on a free port, on the test
    database, broker and consumer groups, sending to this test's sink. Yields the process (a test
    may kill -9 it) and an HTTP client for it; the process is killed on exit if still running."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url,
        **kafka_env(settings),
        "CONSUMER_GROUP_PREFIX": settings.consumer_group_prefix,
        "OUTBOX_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        **{f"NOTIFICATIONS_{k}": v for k, v in _sending_to(sink, env).items()},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "uvicorn", "services.notifications.main:app", "--host", "127.0.0.1", "--port", str(port)),
        cwd=ROOT,
        env=child_env,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:

            async def up() -> bool:
                assert proc.returncode is None, "the notifications process exited"
                try:
                    return (await client.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout=60, what="notifications process ready")
            yield proc, client
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def make_group_at_end(settings: Any) -> Any:
    """Settings with a consumer group of their own that starts at the current end of every topic
    the service consumes: a test that only needs what it publishes itself does not wait while a
    new group reads the shared broker's whole history (minutes, on a busy broker)."""
    fresh = settings.model_copy(update={"consumer_group_prefix": f"test-{uuid.uuid4().hex[:8]}-"})
    consumer = AIOKafkaConsumer(
        **client_kwargs(kafka_access(settings)),
        group_id=f"{fresh.consumer_group_prefix}notifications",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # every topic's partitions, not a cache
        partitions = [
            TopicPartition(topic, p)
            for topic in service_definition("notifications").handlers
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        await consumer.stop()
    return fresh


async def publish(producer: Any, payload: BaseModel, *, copies: int = 1) -> Event:
    """Publish an event as its owner would; `copies` > 1 is a redelivery of the same event."""
    event = new_event(payload, source="/tests/notifications")
    topic, key, value, headers = encode_signed(event)
    for _ in range(copies):
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    return event


async def put_recipient(client: Any, recipient_id: str, **body: Any) -> dict[str, Any]:
    resp = await client.put(f"/v1/recipients/{recipient_id}", json=body, headers=WRITE)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def get_notifications(client: Any, recipient_id: str, **params: Any) -> list[dict[str, Any]]:
    """The first page of a recipient's notifications."""
    resp = await client.get("/v1/notifications", params={"recipient": recipient_id, **params}, headers=READ)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def find_delivery(notification: dict[str, Any], channel: str) -> dict[str, Any] | None:
    """The notification's delivery on `channel`, if it has one."""
    return next((d for d in notification["deliveries"] if d["channel"] == channel), None)


def make_payment(account: str, amount: str) -> PaymentPosted:
    """A patient's card payment on `account`."""
    return PaymentPosted(
        payment_id=uuid.uuid4(),
        source="patient",
        account_id=account,
        amount=Decimal(amount),
        method="card",
        posted_at=NOW,
        receipt_number=f"R-{NOW:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}",
    )


def notification_id_of(record: Any) -> str | None:
    """The notification a `notification.*` Kafka record is about."""
    return json.loads(record.value).get("notification_id")


async def when(awaitable: Awaitable[T], predicate: Callable[[T], bool]) -> T | None:
    """The awaited value when it satisfies `predicate`, else None (for `eventually`)."""
    value = await awaitable
    return value if predicate(value) else None
