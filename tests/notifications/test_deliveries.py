"""Delivery on real PostgreSQL, Kafka and SMTP: once per event and channel, retries through an
outage, a send that keeps failing, and a hanging provider that blocks nothing else.

Each test runs the service in process with its consumer and delivery worker, sends events to
Kafka as their publishers would, and reads what arrived through the local sink's HTTP API
(started on ephemeral ports by deploy/smtp_sink/testing.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from services.notifications.messages.domain import find_phi
from services.notifications.messages.events import on_event
from services.notifications.templates.domain import PHI_TRAP_VALUES
from shared.events.catalogue import InstallmentDue, StatementIssued
from shared.events.envelope import encode
from tests.conftest import end_offsets, eventually, read_from, unique
from tests.notifications.helpers import (
    NOW,
    READ,
    find_delivery,
    get_notifications,
    make_payment,
    notification_id_of,
    publish,
    put_recipient,
    running_notifications,
    when,
)

# --- must show: one event delivered twice → one email -----------------------------------------


async def test_payment_posted_twice_sends_exactly_one_email_with_the_amount_and_no_phi(
    settings, sink, producer, servers
):
    account = unique("acct")
    email, phone = f"{account}@mail.example", "+15555550142"
    sent_start = await end_offsets(servers.kafka_bootstrap, "notification.sent")
    async with running_notifications(settings, sink) as (app, client):
        await put_recipient(client, account, kind="patient", email=email, phone=phone)
        event = await publish(producer, make_payment(account, "123.45"), copies=2)

        async def one_email():
            return await sink.messages(to=email)

        mails = await eventually(one_email, timeout=60)
        # The same event once more, after it was handled, then a different payment on the same
        # account (same partition, so it is consumed after the third copy).
        _, key, value, headers = encode(event)
        await producer.send_and_wait("payment.posted", value, key=key, headers=headers)
        await publish(producer, make_payment(account, "1.11"))
        mails = await eventually(lambda: when(sink.messages(to=email), lambda ms: len(ms) >= 2), timeout=30)

        # Replaying the handler outside the consumer (as if the inbox row were lost) adds nothing.
        async with app.state.db.session() as session, session.begin():
            await on_event(session, event)
        async with app.state.db.session() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT channel, status FROM deliveries WHERE cause_event_id = :id ORDER BY channel"
                    ),
                    {"id": event.id},
                )
            ).all()
        assert [tuple(r) for r in rows] == [("email", "sent"), ("inbox", "sent"), ("sms", "sent")]

        await asyncio.sleep(1.0)  # a few more worker rounds: nothing else may arrive
        mails = await sink.messages(to=email)
        texts = [m["text"] for m in mails]
        assert sum("$123.45" in t for t in texts) == 1, texts
        assert sum("$1.11" in t for t in texts) == 1, texts
        assert len(mails) == 2
        receipt = next(m for m in mails if "$123.45" in m["text"])
        assert receipt["subject"] == "Sandbox Family Practice: payment received"
        assert find_phi(receipt["subject"] + "\n" + receipt["text"], PHI_TRAP_VALUES) == []
        assert event.data.receipt_number in receipt["text"]
        texts_sms = [m["body"] for m in await sink.sms(to=phone)]
        assert sum("$123.45" in t for t in texts_sms) == 1 and len(texts_sms) == 2

        # notification.sent once per channel for the event, recording the template version.
        # (Other suites on this broker may notify about our event too; ours has our notification id.)
        ours = next(
            n["id"] for n in await get_notifications(client, account) if n["cause_event_id"] == str(event.id)
        )
        records = await read_from(
            servers.kafka_bootstrap,
            "notification.sent",
            sent_start,
            until=lambda rs: sum(notification_id_of(r) == ours for r in rs) >= 3,
        )
        mine = [json.loads(r.value) for r in records if notification_id_of(r) == ours]
        assert sorted(m["channel"] for m in mine) == ["email", "inbox", "sms"]
        assert {(m["template"], m["template_version"]) for m in mine} == {("payment_receipt", 2)}

    # A restart under a new consumer group: its inbox knows nothing, so it reads every copy of the
    # event again from the start of the topic; the deliveries' unique key still sends nothing twice.
    fresh = settings.model_copy(update={"consumer_group_prefix": f"test-{uuid.uuid4().hex[:8]}-"})
    async with running_notifications(fresh, sink):
        await publish(producer, make_payment(account, "2.22"))  # same partition, after the old copies
        await eventually(lambda: when(sink.messages(to=email), lambda ms: len(ms) >= 3), timeout=60)
        await asyncio.sleep(1.0)
        texts = [m["text"] for m in await sink.messages(to=email)]
        assert [sum(amount in t for t in texts) for amount in ("$123.45", "$1.11", "$2.22")] == [1, 1, 1]
        assert len(texts) == 3


# --- must show: SMTP outage → retries → everything delivered once ----------------------------


async def test_smtp_outage_retries_with_backoff_then_delivers_everything_once(settings, sink, producer):
    accounts = [unique("out") for _ in range(5)]
    async with running_notifications(settings, sink) as (_, client):
        for account in accounts:
            await put_recipient(client, account, kind="patient", email=f"{account}@mail.example")
        await sink.stop_smtp()
        try:
            for i, account in enumerate(accounts):
                await publish(
                    producer,
                    StatementIssued(
                        statement_id=uuid.uuid4(),
                        account_id=account,
                        balance=Decimal(f"{100 + i}.50"),
                        due_date=date.today() + timedelta(days=30),
                        issued_at=NOW,
                    ),
                )

            async def all_retrying():
                # Consumption goes on (the in-app message exists) while the email waits.
                for account in accounts:
                    items = await get_notifications(client, account)
                    email = find_delivery(items[0], "email") if items else None
                    if not email or email["attempts"] < 3:
                        return False
                    assert email["status"] == "pending" and email["last_error"].startswith("smtp:")
                return True

            await eventually(all_retrying, timeout=60)
        finally:
            await sink.start_smtp()

        async def all_sent():
            states = [
                find_delivery((await get_notifications(client, a))[0], "email")["status"] for a in accounts
            ]
            return all(s == "sent" for s in states)

        await eventually(all_sent, timeout=30)
        await asyncio.sleep(1.0)
        for i, account in enumerate(accounts):
            mails = await sink.messages(to=f"{account}@mail.example")
            assert len(mails) == 1, (account, len(mails))
            assert f"${100 + i}.50" in mails[0]["text"]
            item = (await get_notifications(client, account))[0]
            detail = (await client.get(f"/v1/notifications/{item['id']}", headers=READ)).json()
            history = find_delivery(detail, "email")["history"]
            assert [h["outcome"] for h in history][-1] == "sent"
            assert all(h["outcome"] == "error" for h in history[:-1]) and len(history) >= 4
            assert [h["attempt"] for h in history] == list(range(1, len(history) + 1))
            # Exponential backoff (0.2 s, 0.4 s, 0.8 s, then the 1 s cap): the wait after the third
            # failure is at least 0.8 s, the one after the first at most 0.2 s + one 0.2 s poll.
            times = [datetime.fromisoformat(h["at"]) for h in history]
            assert times[3] - times[2] > times[1] - times[0]


async def test_a_send_that_keeps_failing_ends_in_notification_failed(settings, sink, producer, servers):
    account = unique("fail")
    failed_start = await end_offsets(servers.kafka_bootstrap, "notification.failed")
    # An SMS provider URL that answers 404 every time (the sink has no /down route): retryable.
    async with running_notifications(settings, sink, MAX_ATTEMPTS="3", SMS_URL=f"{sink.base_url}/down") as (
        _,
        client,
    ):
        await put_recipient(client, account, kind="patient", phone="+15555550177")
        await publish(
            producer,
            InstallmentDue(
                plan_id=uuid.uuid4(), account_id=account, installment_number=1, amount=Decimal("20.00"),
                due_date=date.today() + timedelta(days=3),
            ),
        )  # fmt: skip
        records = await read_from(
            servers.kafka_bootstrap,
            "notification.failed",
            failed_start,
            until=lambda rs: any(r.key == account.encode() for r in rs),
            timeout=60,
        )
        failed = json.loads(next(r for r in records if r.key == account.encode()).value)
        assert failed["channel"] == "sms" and failed["attempts"] == 3
        assert failed["template"] == "installment_reminder" and failed["reason"].startswith("sms:")
        sms = find_delivery((await get_notifications(client, account))[0], "sms")
        assert sms["status"] == "failed" and sms["attempts"] == 3


@contextlib.asynccontextmanager
async def hanging_sms_provider() -> AsyncIterator[tuple[str, asyncio.Event, asyncio.Event]]:
    """An HTTP SMS provider that takes requests and answers only once released."""
    received, release = asyncio.Event(), asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                received.set()
                await release.wait()
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/sms", received, release
    finally:
        release.set()
        server.close()


async def test_a_hanging_sms_provider_blocks_neither_consumption_nor_email(settings, sink, producer):
    account = unique("slow")
    email = f"{account}@mail.example"
    async with (
        hanging_sms_provider() as (sms_url, received, release),
        running_notifications(settings, sink, SMS_URL=sms_url, SMS_TIMEOUT_SECONDS="120") as (_, client),
    ):
        await put_recipient(client, account, kind="patient", email=email, phone="+15555550188")
        first = await publish(producer, make_payment(account, "11.00"))
        await eventually(received.is_set, timeout=60)  # the first SMS is stuck at the provider
        second = await publish(producer, make_payment(account, "22.00"))

        async def both_emails_sent():
            items = {n["cause_event_id"]: n for n in await get_notifications(client, account)}
            if {str(first.id), str(second.id)} <= set(items):
                return all(find_delivery(n, "email")["status"] == "sent" for n in items.values()) and items
            return None

        items = await eventually(both_emails_sent, timeout=30)
        texts = [m["text"] for m in await sink.messages(to=email)]
        assert len(texts) == 2 and any("$11.00" in t for t in texts) and any("$22.00" in t for t in texts)
        stuck = find_delivery(items[str(first.id)], "sms")
        assert stuck["status"] == "pending" and stuck["attempts"] == 1  # claimed, still in flight
        release.set()

        async def sms_sent():
            states = [find_delivery(n, "sms")["status"] for n in await get_notifications(client, account)]
            return states == ["sent", "sent"]

        await eventually(sms_sent, timeout=30)
