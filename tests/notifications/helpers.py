"""Plain helpers of the notifications tests: the service under test, publishing events, HTTP
shortcuts, and builders."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from deploy.smtp_sink.testing import SinkHandle
from shared.events import new_event
from shared.events.catalogue import PaymentPosted
from shared.events.envelope import Event, encode
from tests.conftest import running_service, token

READ = token("notifications:read")
WRITE = token("notifications:write", "notifications:read")
NOW = datetime.now(UTC)

T = TypeVar("T")


@contextlib.asynccontextmanager
async def running_notifications(
    settings: Any, sink: SinkHandle, **env: str
) -> AsyncIterator[tuple[Any, Any]]:
    """The service, sending to this test's sink, with fast retries; `env` overrides
    NOTIFICATIONS_* settings (without the prefix)."""
    values = {
        "SMTP_PORT": str(sink.smtp_port),
        "SMS_URL": sink.sms_url,
        "RETRY_BASE_SECONDS": "0.2",
        "RETRY_MAX_SECONDS": "1",
        "MAX_ATTEMPTS": "50",
        "SMTP_TIMEOUT_SECONDS": "2",
        **env,
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in values.items():
            mp.setenv(f"NOTIFICATIONS_{name}", value)
        async with running_service("notifications", settings) as (app, client):
            yield app, client


async def publish(producer: Any, payload: BaseModel, *, copies: int = 1) -> Event:
    """Publish an event as its owner would; `copies` > 1 is a redelivery of the same event."""
    event = new_event(payload, source="/tests/notifications")
    topic, key, value, headers = encode(event)
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
